using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Agents as JSON bodies beside the columns they are found and sorted by (id, credential hash, name).</summary>
public sealed class PostgresAgentStore(PostgresDatabase database) : IAgentStore
{
    public Task AddAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return database.WriteAsync((connection, _, token) => StoreAsync(connection, "INSERT INTO agents (id, name, credential_hash, body) VALUES (@id, @name, @hash, @body)", agent, token),
            cancellationToken);
    }

    public Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken) =>
        FindAsync("SELECT body FROM agents WHERE id = @key", agentId, cancellationToken);

    public Task<AgentRecord?> FindByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken) =>
        FindAsync("SELECT body FROM agents WHERE credential_hash = @key", credentialHash, cancellationToken);

    public Task<IReadOnlyList<AgentRecord>> ListAsync(CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<AgentRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT body FROM agents ORDER BY name, id");
            await using var reader = await command.ExecuteReaderAsync(token);
            var agents = new List<AgentRecord>();
            while (await reader.ReadAsync(token))
            {
                agents.Add(Read(reader.GetString(0)));
            }

            return agents;
        }, cancellationToken);

    public Task<bool> ReportStateAsync(string agentId, AgentReportedState state, DateTimeOffset seenAt, CancellationToken cancellationToken) =>
        ChangeAsync(agentId, agent => agent with { Zone = state.Zone, Labels = state.Labels, LastHeartbeatAt = seenAt, State = state }, cancellationToken);

    public Task<bool> SetZoneOverrideAsync(string agentId, string? zone, CancellationToken cancellationToken) =>
        ChangeAsync(agentId, agent => agent with { ZoneOverride = zone }, cancellationToken);

    private Task<AgentRecord?> FindAsync(string sql, string key, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            command.Parameters.AddWithValue("key", key);
            return await command.ExecuteScalarAsync(token) is string body ? Read(body) : null;
        }, cancellationToken);

    /// <summary>Reads, changes and writes the agent in one transaction, its row locked meanwhile.</summary>
    private Task<bool> ChangeAsync(string agentId, Func<AgentRecord, AgentRecord> change, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var select = PostgresDatabase.Command(connection, "SELECT body FROM agents WHERE id = @id FOR UPDATE");
            select.Parameters.AddWithValue("id", agentId);
            if (await select.ExecuteScalarAsync(token) is not string body)
            {
                return false;
            }

            return await StoreAsync(connection, "UPDATE agents SET name = @name, credential_hash = @hash, body = @body WHERE id = @id", change(Read(body)), token) == 1;
        }, cancellationToken);

    private static async Task<int> StoreAsync(NpgsqlConnection connection, string sql, AgentRecord agent, CancellationToken cancellationToken)
    {
        await using var command = PostgresDatabase.Command(connection, sql);
        command.Parameters.AddWithValue("id", agent.Id);
        command.Parameters.AddWithValue("name", agent.Name);
        command.Parameters.AddWithValue("hash", agent.CredentialHash);
        command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(agent));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The reported state carries the agent's zone and labels, as every store returns it.</summary>
    private static AgentRecord Read(string body)
    {
        var agent = PostgresJson.Read<AgentRecord>(body, "agent");
        return agent.State is { } state ? agent with { State = state with { Zone = agent.Zone, Labels = agent.Labels } } : agent;
    }
}
