namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>Webhooks, their secrets stored exactly as given.</summary>
public sealed class PostgresWebhookStore(PostgresDatabase database) : IWebhookStore
{
    public Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection,
                "INSERT INTO webhooks (id, url, events, secret, created_at_ticks) VALUES (@id, @url, @events, @secret, @created)");
            command.Parameters.AddWithValue("id", webhook.Id);
            command.Parameters.AddWithValue("url", webhook.Url);
            command.Parameters.AddWithValue("events", webhook.Events.ToArray());
            command.Parameters.AddWithValue("secret", webhook.Secret);
            command.Parameters.AddWithValue("created", webhook.CreatedAt.UtcTicks);
            return await command.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<WebhookRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT id, url, events, secret, created_at_ticks FROM webhooks ORDER BY created_at_ticks, id");
            await using var reader = await command.ExecuteReaderAsync(token);
            var webhooks = new List<WebhookRecord>();
            while (await reader.ReadAsync(token))
            {
                webhooks.Add(new WebhookRecord(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetString(3),
                    Ticks.ToInstant(reader.GetInt64(4))));
            }

            return webhooks;
        }, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "DELETE FROM webhooks WHERE id = @id");
            command.Parameters.AddWithValue("id", id);
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);

    public Task<bool> ReplaceSecretAsync(string id, string expected, string secret, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "UPDATE webhooks SET secret = @secret WHERE id = @id AND secret = @expected");
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("expected", expected);
            command.Parameters.AddWithValue("secret", secret);
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
}
