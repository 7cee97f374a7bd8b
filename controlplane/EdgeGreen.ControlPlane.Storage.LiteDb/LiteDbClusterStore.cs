using EdgeGreen.ControlPlane.Core.Cluster;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Membership in the embedded file. LiteDB opens its file for one process, so there is one replica
/// and it leads; the lease logic is the same as PostgreSQL's all the same, on this process's clock.
/// </summary>
public sealed class LiteDbClusterStore(LiteDbDatabase database, TimeProvider clock) : IClusterStore
{
    private ILiteCollection<BsonDocument> Replicas => database.Database.GetCollection("cluster_replicas");

    private ILiteCollection<BsonDocument> Leader => database.Database.GetCollection("cluster_leader");

    public Task<ClusterView> HeartbeatAsync(ReplicaRecord self, TimeSpan leaderLease, TimeSpan forgetAfter, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ =>
        {
            var now = clock.GetUtcNow();
            Replicas.Upsert(new BsonDocument
            {
                ["_id"] = self.Id,
                ["http"] = self.HttpUrl,
                ["grpc"] = self.GrpcUrl,
                ["version"] = self.Version,
                ["startedAt"] = self.StartedAt.UtcTicks,
                ["lastSeen"] = now.UtcTicks,
            });
            var lease = Leader.FindById(1);
            if (lease is null || lease["holder"].AsString == self.Id || lease["until"].AsInt64 < now.UtcTicks)
            {
                lease = new BsonDocument { ["_id"] = 1, ["holder"] = self.Id, ["until"] = (now + leaderLease).UtcTicks };
                Leader.Upsert(lease);
            }

            var replicas = Replicas.Find(LiteQueries.GT("lastSeen", (now - forgetAfter).UtcTicks)).Select(d => new ReplicaRecord(
                d["_id"].AsString, d["http"].IsNull ? null : d["http"].AsString, d["grpc"].IsNull ? null : d["grpc"].AsString, d["version"].AsString,
                Ticks.ToInstant(d["startedAt"].AsInt64), Ticks.ToInstant(d["lastSeen"].AsInt64))).ToList();
            return new ClusterView(lease["until"].AsInt64 >= now.UtcTicks ? lease["holder"].AsString : null, replicas);
        }));

    public Task LeaveAsync(string replicaId, CancellationToken cancellationToken)
    {
        database.Write(_ =>
        {
            Replicas.Delete(replicaId);
            return Leader.FindById(1) is { } lease && lease["holder"].AsString == replicaId && Leader.Delete(1);
        });
        return Task.CompletedTask;
    }
}
