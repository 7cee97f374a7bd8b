using EdgeGreen.ControlPlane.Core.Cluster;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Membership and the leadership lease in two small tables, on the database's clock
/// (<c>clock_timestamp()</c>), so that replicas' own clocks never decide who leads. Taking or
/// renewing the lease is one conditional upsert: it succeeds for the holder, or for anyone once the
/// lease has run out, never for two replicas at once.
/// </summary>
public sealed class PostgresClusterStore(PostgresDatabase database) : IClusterStore
{
    public Task<ClusterView> HeartbeatAsync(ReplicaRecord self, TimeSpan leaderLease, TimeSpan forgetAfter, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using (var beat = PostgresDatabase.Command(connection, """
                INSERT INTO cluster_replicas (id, http_url, grpc_url, version, started_at, last_seen)
                VALUES (@id, @http, @grpc, @version, @started, clock_timestamp())
                ON CONFLICT (id) DO UPDATE SET http_url = excluded.http_url, grpc_url = excluded.grpc_url, version = excluded.version, last_seen = excluded.last_seen;
                INSERT INTO cluster_leader (id, holder, expires_at) VALUES (1, @id, clock_timestamp() + @lease)
                ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE cluster_leader.holder = excluded.holder OR cluster_leader.expires_at < clock_timestamp();
                """))
            {
                beat.Parameters.AddWithValue("id", self.Id);
                beat.Parameters.AddWithValue("http", (object?)self.HttpUrl ?? DBNull.Value);
                beat.Parameters.AddWithValue("grpc", (object?)self.GrpcUrl ?? DBNull.Value);
                beat.Parameters.AddWithValue("version", self.Version);
                beat.Parameters.AddWithValue("started", self.StartedAt);
                beat.Parameters.AddWithValue("lease", leaderLease);
                await beat.ExecuteNonQueryAsync(token);
            }

            string? leader;
            await using (var lease = PostgresDatabase.Command(connection, "SELECT holder FROM cluster_leader WHERE id = 1 AND expires_at >= clock_timestamp()"))
            {
                leader = await lease.ExecuteScalarAsync(token) as string;
            }

            await using var list = PostgresDatabase.Command(connection,
                "SELECT id, http_url, grpc_url, version, started_at, last_seen FROM cluster_replicas WHERE last_seen > clock_timestamp() - @forget ORDER BY started_at, id");
            list.Parameters.AddWithValue("forget", forgetAfter);
            await using var reader = await list.ExecuteReaderAsync(token);
            var replicas = new List<ReplicaRecord>();
            while (await reader.ReadAsync(token))
            {
                replicas.Add(new ReplicaRecord(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5)));
            }

            return new ClusterView(leader, replicas);
        }, cancellationToken);

    public Task LeaveAsync(string replicaId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var leave = PostgresDatabase.Command(connection, """
                DELETE FROM cluster_replicas WHERE id = @id;
                DELETE FROM cluster_leader WHERE id = 1 AND holder = @id;
                """);
            leave.Parameters.AddWithValue("id", replicaId);
            return await leave.ExecuteNonQueryAsync(token);
        }, cancellationToken);
}
