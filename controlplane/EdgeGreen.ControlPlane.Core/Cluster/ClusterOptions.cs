namespace EdgeGreen.ControlPlane.Core.Cluster;

public sealed class ClusterOptions
{
    public const string SectionName = "EdgeGreen:Cluster";

    /// <summary>This replica's id in <c>GET /api/v1/cluster</c>; a new random one at each start when empty.</summary>
    public string? ReplicaId { get; set; }

    /// <summary>How often a replica says it is alive (and the leader renews its lease).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long leadership lasts without renewal: after the leader dies, another replica leads within
    /// this time. A leader that could not renew stops acting as one a heartbeat before it runs out.
    /// </summary>
    public TimeSpan LeaderLease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A replica not heard from for this long leaves the list.</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The REST URL other replicas forward job changes to; the bound HTTP endpoint when empty (set it when replicas reach each other by another address).</summary>
    public string? AdvertisedHttpUrl { get; set; }

    /// <summary>The gRPC URL other replicas forward agents' job calls to; the bound gRPC endpoint when empty.</summary>
    public string? AdvertisedGrpcUrl { get; set; }
}
