using EdgeGreen.ControlPlane.Core.Alerts;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Alert rules keyed by name and alerts keyed by rule and label key, each as a <c>jsonb</c> body.</summary>
public sealed class PostgresAlertStore(PostgresDatabase database) : IAlertStore
{
    public Task<bool> AddRuleAsync(AlertRule rule, CancellationToken cancellationToken) =>
        WriteRuleAsync("INSERT INTO alert_rules (name, body) VALUES (@name, @body) ON CONFLICT (name) DO NOTHING", rule, cancellationToken);

    public Task<bool> ReplaceRuleAsync(AlertRule rule, CancellationToken cancellationToken) =>
        WriteRuleAsync("UPDATE alert_rules SET body = @body WHERE name = @name", rule, cancellationToken);

    public async Task<AlertRule?> GetRuleAsync(string name, CancellationToken cancellationToken) =>
        (await database.ListBodiesAsync<AlertRule>("SELECT body FROM alert_rules WHERE name = @name", p => p.AddWithValue("name", name), "alert rule", cancellationToken)).FirstOrDefault();

    public Task<IReadOnlyList<AlertRule>> ListRulesAsync(CancellationToken cancellationToken) =>
        database.ListBodiesAsync<AlertRule>("SELECT body FROM alert_rules ORDER BY name", _ => { }, "alert rule", cancellationToken);

    public Task<bool> DeleteRuleAsync(string name, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var alerts = PostgresDatabase.Command(connection, "DELETE FROM alerts WHERE rule = @name");
            alerts.Parameters.AddWithValue("name", name);
            await alerts.ExecuteNonQueryAsync(token);
            await using var rule = PostgresDatabase.Command(connection, "DELETE FROM alert_rules WHERE name = @name");
            rule.Parameters.AddWithValue("name", name);
            return await rule.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);

    public Task SaveAlertAsync(AlertRecord alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var upsert = PostgresDatabase.Command(connection,
                "INSERT INTO alerts (rule, key, body) VALUES (@rule, @key, @body) ON CONFLICT (rule, key) DO UPDATE SET body = excluded.body");
            upsert.Parameters.AddWithValue("rule", alert.Rule);
            upsert.Parameters.AddWithValue("key", alert.Key);
            upsert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(alert));
            return await upsert.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AlertRecord>> ListAlertsAsync(CancellationToken cancellationToken) =>
        database.ListBodiesAsync<AlertRecord>("SELECT body FROM alerts ORDER BY rule, key", _ => { }, "alert", cancellationToken);

    public Task<bool> DeleteAlertAsync(string rule, string key, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var delete = PostgresDatabase.Command(connection, "DELETE FROM alerts WHERE rule = @rule AND key = @key");
            delete.Parameters.AddWithValue("rule", rule);
            delete.Parameters.AddWithValue("key", key);
            return await delete.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);

    private Task<bool> WriteRuleAsync(string sql, AlertRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            command.Parameters.AddWithValue("name", rule.Name);
            command.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(rule));
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }
}
