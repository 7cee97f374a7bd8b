using EdgeGreen.Shared.Datasets;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Dataset versions as JSON bodies beside the columns queries use (name, version, hash).</summary>
public sealed class PostgresDatasetStore(PostgresDatabase database) : IDatasetStore
{
    /// <summary>The first key of the advisory lock that serialises new versions of one dataset (the second is the name's hash).</summary>
    private const int VersionLock = 0x4547_4453; // "EGDS"

    public Task<(DatasetVersionRecord Version, bool Created)> AddVersionAsync(string name, string sha256, long sizeBytes, long rows,
        IReadOnlyList<DatasetColumn> columns, DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            // Two replicas adding to one dataset at once would both pick the same next number.
            await using (var lockName = PostgresDatabase.Command(connection, "SELECT pg_advisory_xact_lock(@space, hashtext(@name))"))
            {
                lockName.Parameters.AddWithValue("space", VersionLock);
                lockName.Parameters.AddWithValue("name", name);
                await lockName.ExecuteNonQueryAsync(token);
            }

            await using (var same = PostgresDatabase.Command(connection, "SELECT body FROM dataset_versions WHERE name = @name AND sha256 = @sha ORDER BY version LIMIT 1"))
            {
                same.Parameters.AddWithValue("name", name);
                same.Parameters.AddWithValue("sha", sha256);
                if (await same.ExecuteScalarAsync(token) is string body)
                {
                    return (Read(body), false);
                }
            }

            await using var next = PostgresDatabase.Command(connection, "SELECT COALESCE(max(version), 0) + 1 FROM dataset_versions WHERE name = @name");
            next.Parameters.AddWithValue("name", name);
            var record = new DatasetVersionRecord(name, (int)(await next.ExecuteScalarAsync(token))!, sha256, sizeBytes, rows, columns, createdAt);
            await using var insert = PostgresDatabase.Command(connection, "INSERT INTO dataset_versions (name, version, sha256, body) VALUES (@name, @version, @sha, @body)");
            insert.Parameters.AddWithValue("name", record.Name);
            insert.Parameters.AddWithValue("version", record.Version);
            insert.Parameters.AddWithValue("sha", record.Sha256);
            insert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(record));
            await insert.ExecuteNonQueryAsync(token);
            return (record, true);
        }, cancellationToken);

    public Task<IReadOnlyList<DatasetVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM dataset_versions WHERE name = @name ORDER BY version", p => p.AddWithValue("name", name), cancellationToken);

    public Task<IReadOnlyList<DatasetVersionRecord>> ListLatestAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT DISTINCT ON (name) body FROM dataset_versions ORDER BY name, version DESC", _ => { }, cancellationToken);

    public async Task<DatasetVersionRecord?> FindByShaAsync(string sha256, CancellationToken cancellationToken) =>
        (await ListAsync("SELECT body FROM dataset_versions WHERE sha256 = @sha ORDER BY name, version LIMIT 1", p => p.AddWithValue("sha", sha256), cancellationToken))
        .FirstOrDefault();

    private Task<IReadOnlyList<DatasetVersionRecord>> ListAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<DatasetVersionRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var versions = new List<DatasetVersionRecord>();
            while (await reader.ReadAsync(token))
            {
                versions.Add(Read(reader.GetString(0)));
            }

            return versions;
        }, cancellationToken);

    private static DatasetVersionRecord Read(string body) => PostgresJson.Read<DatasetVersionRecord>(body, "dataset version");
}
