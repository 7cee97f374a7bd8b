using EdgeGreen.ControlPlane.Core.Pipelines;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Pipeline versions, runs and the step cache as JSON bodies beside the columns queries use.</summary>
public sealed class PostgresPipelineStore(PostgresDatabase database) : IPipelineStore
{
    /// <summary>The first key of the advisory lock that serialises new versions of one pipeline (the second is the name's hash).</summary>
    private const int VersionLock = 0x4547_5049; // "EGPI"

    public Task<(PipelineVersion Version, bool Created)> AddVersionAsync(string name, PipelineDefinition definition, string source, string sourceContentType,
        DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            // Two replicas adding to one pipeline at once would both pick the same next number.
            await using (var lockName = PostgresDatabase.Command(connection, "SELECT pg_advisory_xact_lock(@space, hashtext(@name))"))
            {
                lockName.Parameters.AddWithValue("space", VersionLock);
                lockName.Parameters.AddWithValue("name", name);
                await lockName.ExecuteNonQueryAsync(token);
            }

            var text = PostgresJson.Write(definition);
            int latest;
            await using (var select = PostgresDatabase.Command(connection,
                "SELECT version, definition = @definition::jsonb, body FROM pipeline_versions WHERE name = @name ORDER BY version DESC LIMIT 1"))
            {
                select.Parameters.AddWithValue("name", name);
                select.Parameters.AddWithValue("definition", text);
                await using var reader = await select.ExecuteReaderAsync(token);
                if (!await reader.ReadAsync(token))
                {
                    latest = 0;
                }
                else if (reader.GetBoolean(1))
                {
                    return (PostgresJson.Read<PipelineVersion>(reader.GetString(2), "pipeline version"), false);
                }
                else
                {
                    latest = reader.GetInt32(0);
                }
            }

            var version = new PipelineVersion(name, latest + 1, definition, createdAt, source, sourceContentType);
            await using var insert = PostgresDatabase.Command(connection,
                "INSERT INTO pipeline_versions (name, version, definition, body) VALUES (@name, @version, @definition, @body)");
            insert.Parameters.AddWithValue("name", name);
            insert.Parameters.AddWithValue("version", version.Version);
            insert.Parameters.AddWithValue("definition", NpgsqlDbType.Jsonb, text);
            insert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(version));
            await insert.ExecuteNonQueryAsync(token);
            return (version, true);
        }, cancellationToken);

    public Task<IReadOnlyList<PipelineVersion>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        database.ListBodiesAsync<PipelineVersion>("SELECT body FROM pipeline_versions WHERE name = @name ORDER BY version", p => p.AddWithValue("name", name), "pipeline version", cancellationToken);

    public Task<IReadOnlyList<PipelineVersion>> ListLatestAsync(CancellationToken cancellationToken) =>
        database.ListBodiesAsync<PipelineVersion>("SELECT DISTINCT ON (name) body FROM pipeline_versions ORDER BY name, version DESC", _ => { }, "pipeline version", cancellationToken);

    public Task AddRunAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var insert = BindRun(PostgresDatabase.Command(connection,
                "INSERT INTO pipeline_runs (id, pipeline, created_at_ticks, active, revision, body) VALUES (@id, @pipeline, @created, @active, @revision, @body)"), run);
            return await insert.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public async Task<PipelineRun?> GetRunAsync(string id, CancellationToken cancellationToken) =>
        (await database.ListBodiesAsync<PipelineRun>("SELECT body FROM pipeline_runs WHERE id = @id", p => p.AddWithValue("id", id), "pipeline run", cancellationToken)).FirstOrDefault();

    public Task<bool> UpdateRunAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var update = BindRun(PostgresDatabase.Command(connection,
                "UPDATE pipeline_runs SET active = @active, revision = @revision, body = @body WHERE id = @id AND revision = @revision - 1"), run);
            return await update.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<PipelineRun>> ListRunsAsync(string pipeline, int limit, CancellationToken cancellationToken) =>
        database.ListBodiesAsync<PipelineRun>("SELECT body FROM pipeline_runs WHERE pipeline = @pipeline ORDER BY created_at_ticks DESC, id DESC LIMIT @limit",
            p =>
            {
                p.AddWithValue("pipeline", pipeline);
                p.AddWithValue("limit", limit);
            }, "pipeline run", cancellationToken);

    public Task<IReadOnlyList<PipelineRun>> ListActiveRunsAsync(CancellationToken cancellationToken) =>
        database.ListBodiesAsync<PipelineRun>("SELECT body FROM pipeline_runs WHERE active", _ => { }, "pipeline run", cancellationToken);

    public Task PutCacheEntryAsync(PipelineCacheEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var upsert = PostgresDatabase.Command(connection,
                "INSERT INTO pipeline_cache (key, body) VALUES (@key, @body) ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body");
            upsert.Parameters.AddWithValue("key", entry.Key);
            upsert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(entry));
            return await upsert.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public async Task<PipelineCacheEntry?> FindCacheEntryAsync(string key, CancellationToken cancellationToken) =>
        (await database.ListBodiesAsync<PipelineCacheEntry>("SELECT body FROM pipeline_cache WHERE key = @key", p => p.AddWithValue("key", key), "pipeline cache entry", cancellationToken))
        .FirstOrDefault();

    public Task<IReadOnlyList<PipelineCacheEntry>> ListCacheEntriesAsync(CancellationToken cancellationToken) =>
        database.ListBodiesAsync<PipelineCacheEntry>("SELECT body FROM pipeline_cache ORDER BY key", _ => { }, "pipeline cache entry", cancellationToken);

    private static NpgsqlCommand BindRun(NpgsqlCommand command, PipelineRun run)
    {
        command.Parameters.AddWithValue("id", run.Id);
        command.Parameters.AddWithValue("pipeline", run.Pipeline);
        command.Parameters.AddWithValue("created", run.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("active", !run.IsFinished);
        command.Parameters.AddWithValue("revision", run.Revision);
        command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(run));
        return command;
    }
}
