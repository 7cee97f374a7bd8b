using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Models and their versions as JSON bodies, versions keyed by model name and number and indexed by training job.</summary>
public sealed class PostgresModelStore(PostgresDatabase database) : IModelStore
{
    /// <summary>The first key of the advisory lock that serialises new versions of one model (the second is the name's hash).</summary>
    private const int VersionLock = 0x4547_4D56; // "EGMV"

    public Task<(ModelVersionRecord Version, bool Created)> AddVersionAsync(string name, Func<int, ModelVersionRecord> version, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        return database.WriteAsync(async (connection, _, token) =>
        {
            // Two replicas registering into one model at once would both pick the same next number.
            await using (var lockName = PostgresDatabase.Command(connection, "SELECT pg_advisory_xact_lock(@space, hashtext(@name))"))
            {
                lockName.Parameters.AddWithValue("space", VersionLock);
                lockName.Parameters.AddWithValue("name", name);
                await lockName.ExecuteNonQueryAsync(token);
            }

            await using var next = PostgresDatabase.Command(connection, "SELECT COALESCE(max(version), 0) + 1 FROM model_versions WHERE name = @name");
            next.Parameters.AddWithValue("name", name);
            var record = version((int)(await next.ExecuteScalarAsync(token))!);
            if (record.Lineage.JobId is { } job)
            {
                await using var same = PostgresDatabase.Command(connection, "SELECT body FROM model_versions WHERE name = @name AND job_id = @job ORDER BY version LIMIT 1");
                same.Parameters.AddWithValue("name", name);
                same.Parameters.AddWithValue("job", job);
                if (await same.ExecuteScalarAsync(token) is string body)
                {
                    return (ReadVersion(body), false);
                }
            }

            await using var model = PostgresDatabase.Command(connection, "INSERT INTO models (name, body) VALUES (@name, @body) ON CONFLICT (name) DO NOTHING");
            model.Parameters.AddWithValue("name", name);
            model.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb,
                PostgresJson.Write(new ModelRecord(name, now, new Dictionary<string, string>(), new Dictionary<string, int>())));
            await model.ExecuteNonQueryAsync(token);
            await using var insert = BindVersion(PostgresDatabase.Command(connection,
                "INSERT INTO model_versions (name, version, job_id, body) VALUES (@name, @version, @job, @body)"), name, record);
            await insert.ExecuteNonQueryAsync(token);
            return (record, true);
        }, cancellationToken);
    }

    public async Task<ModelRecord?> GetModelAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync("SELECT body FROM models WHERE name = @name", p => p.AddWithValue("name", name), ReadModel, cancellationToken)).FirstOrDefault();

    public Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM models ORDER BY name", _ => { }, ReadModel, cancellationToken);

    public Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM model_versions WHERE name = @name ORDER BY version", p => p.AddWithValue("name", name), ReadVersion, cancellationToken);

    public async Task<ModelVersionRecord?> GetVersionAsync(string name, int version, CancellationToken cancellationToken) =>
        (await ListAsync("SELECT body FROM model_versions WHERE name = @name AND version = @version", p =>
        {
            p.AddWithValue("name", name);
            p.AddWithValue("version", version);
        }, ReadVersion, cancellationToken)).FirstOrDefault();

    public Task<bool> UpdateModelAsync(ModelRecord model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "UPDATE models SET body = @body WHERE name = @name");
            command.Parameters.AddWithValue("name", model.Name);
            command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(model));
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    public Task<bool> UpdateVersionAsync(ModelVersionRecord version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = BindVersion(PostgresDatabase.Command(connection,
                "UPDATE model_versions SET job_id = @job, body = @body WHERE name = @name AND version = @version"), version.Name, version);
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    private Task<IReadOnlyList<T>> ListAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, Func<string, T> read, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<T>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var found = new List<T>();
            while (await reader.ReadAsync(token))
            {
                found.Add(read(reader.GetString(0)));
            }

            return found;
        }, cancellationToken);

    private static NpgsqlCommand BindVersion(NpgsqlCommand command, string name, ModelVersionRecord version)
    {
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("version", version.Version);
        command.Parameters.AddWithValue("job", NpgsqlDbType.Text, (object?)version.Lineage.JobId ?? DBNull.Value);
        command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(version));
        return command;
    }

    private static ModelRecord ReadModel(string body) => PostgresJson.Read<ModelRecord>(body, "model");

    private static ModelVersionRecord ReadVersion(string body) => PostgresJson.Read<ModelVersionRecord>(body, "model version");
}
