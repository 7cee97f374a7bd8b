namespace EdgeGreen.ControlPlane.Core.Cluster;

/// <summary>A control-plane replica as the others see it: where it answers, what it runs, when it last said so.</summary>
public sealed record ReplicaRecord(string Id, string? HttpUrl, string? GrpcUrl, string Version, DateTimeOffset StartedAt, DateTimeOffset LastSeen);

/// <summary>The cluster as one heartbeat found it: the replicas seen recently and which of them leads.</summary>
public sealed record ClusterView(string? LeaderId, IReadOnlyList<ReplicaRecord> Replicas);

/// <summary>
/// Membership and leadership, kept where every replica can see them (the shared database).
/// Leadership is a lease: the holder renews it with each heartbeat; once it has run out any
/// replica's heartbeat takes it. Instants are the store's own clock, so replicas' clocks may differ.
/// </summary>
public interface IClusterStore
{
    /// <summary>
    /// Records <paramref name="self"/> as alive, renews its leadership or takes it when free or run
    /// out (for <paramref name="leaderLease"/>), and returns the cluster: replicas seen within
    /// <paramref name="forgetAfter"/>, and the leader.
    /// </summary>
    Task<ClusterView> HeartbeatAsync(ReplicaRecord self, TimeSpan leaderLease, TimeSpan forgetAfter, CancellationToken cancellationToken);

    /// <summary>A replica stopping cleanly: gives up leadership at once and leaves the list.</summary>
    Task LeaveAsync(string replicaId, CancellationToken cancellationToken);
}
