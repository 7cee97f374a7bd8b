using EdgeGreen.ControlPlane.Core.Deployments;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Deployments as JSON bodies keyed by name, with the revision beside them for optimistic updates.</summary>
public sealed class PostgresDeploymentStore(PostgresDatabase database) : IDeploymentStore
{
    public Task<bool> AddAsync(DeploymentRecord deployment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var insert = Bind(PostgresDatabase.Command(connection,
                "INSERT INTO deployments (name, revision, body) VALUES (@name, @revision, @body) ON CONFLICT (name) DO NOTHING"), deployment);
            return await insert.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    public Task<bool> UpdateAsync(DeploymentRecord deployment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var update = Bind(PostgresDatabase.Command(connection,
                "UPDATE deployments SET revision = @revision, body = @body WHERE name = @name AND revision = @revision - 1"), deployment);
            return await update.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    public async Task<DeploymentRecord?> GetAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync("SELECT body FROM deployments WHERE name = @name", p => p.AddWithValue("name", name), cancellationToken)).FirstOrDefault();

    public Task<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM deployments ORDER BY name", _ => { }, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var delete = PostgresDatabase.Command(connection, "DELETE FROM deployments WHERE name = @name");
            delete.Parameters.AddWithValue("name", name);
            return await delete.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);

    private static NpgsqlCommand Bind(NpgsqlCommand command, DeploymentRecord deployment)
    {
        command.Parameters.AddWithValue("name", deployment.Name);
        command.Parameters.AddWithValue("revision", deployment.Revision);
        command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(deployment));
        return command;
    }

    private Task<IReadOnlyList<DeploymentRecord>> ListAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<DeploymentRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var deployments = new List<DeploymentRecord>();
            while (await reader.ReadAsync(token))
            {
                deployments.Add(PostgresJson.Read<DeploymentRecord>(reader.GetString(0), "deployment"));
            }

            return deployments;
        }, cancellationToken);
}
