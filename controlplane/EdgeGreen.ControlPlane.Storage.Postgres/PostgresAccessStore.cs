namespace EdgeGreen.ControlPlane.Storage.Postgres;

public sealed class PostgresAccessStore(PostgresDatabase database) : IAccessStore
{
    public Task<bool> AnyApiKeyAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT EXISTS (SELECT 1 FROM api_keys)");
            return await command.ExecuteScalarAsync(token) is true;
        }, cancellationToken);

    public Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(apiKey);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection,
                "INSERT INTO api_keys (id, name, role, key_hash, created_at_ticks) VALUES (@id, @name, @role, @hash, @created)");
            command.Parameters.AddWithValue("id", apiKey.Id);
            command.Parameters.AddWithValue("name", apiKey.Name);
            command.Parameters.AddWithValue("role", apiKey.Role.ToString());
            command.Parameters.AddWithValue("hash", apiKey.KeyHash);
            command.Parameters.AddWithValue("created", apiKey.CreatedAt.UtcTicks);
            return await command.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT id, name, role, key_hash, created_at_ticks FROM api_keys WHERE key_hash = @hash");
            command.Parameters.AddWithValue("hash", keyHash);
            await using var reader = await command.ExecuteReaderAsync(token);
            return await reader.ReadAsync(token)
                ? new ApiKeyRecord(reader.GetString(0), reader.GetString(1), Enum.Parse<ApiKeyRole>(reader.GetString(2)), reader.GetString(3), Ticks.ToInstant(reader.GetInt64(4)))
                : null;
        }, cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<ApiKeyRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT id, name, role, key_hash, created_at_ticks FROM api_keys ORDER BY created_at_ticks, id");
            await using var reader = await command.ExecuteReaderAsync(token);
            var keys = new List<ApiKeyRecord>();
            while (await reader.ReadAsync(token))
            {
                keys.Add(new ApiKeyRecord(reader.GetString(0), reader.GetString(1), Enum.Parse<ApiKeyRole>(reader.GetString(2)), reader.GetString(3),
                    Ticks.ToInstant(reader.GetInt64(4))));
            }

            return keys;
        }, cancellationToken);

    public Task AddEnrollmentTokenAsync(EnrollmentTokenRecord token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return database.WriteAsync(async (connection, _, cancel) =>
        {
            await using var command = PostgresDatabase.Command(connection,
                "INSERT INTO enrollment_tokens (token_hash, created_at_ticks, expires_at_ticks) VALUES (@hash, @created, @expires)");
            command.Parameters.AddWithValue("hash", token.TokenHash);
            command.Parameters.AddWithValue("created", token.CreatedAt.UtcTicks);
            command.Parameters.AddWithValue("expires", token.ExpiresAt.UtcTicks);
            return await command.ExecuteNonQueryAsync(cancel);
        }, cancellationToken);
    }

    public Task<bool> TryConsumeEnrollmentTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            // Expired tokens are swept on every consumption so the table stays small.
            await using var sweep = PostgresDatabase.Command(connection, "DELETE FROM enrollment_tokens WHERE expires_at_ticks < @now");
            sweep.Parameters.AddWithValue("now", now.UtcTicks);
            await sweep.ExecuteNonQueryAsync(token);
            await using var consume = PostgresDatabase.Command(connection, "DELETE FROM enrollment_tokens WHERE token_hash = @hash");
            consume.Parameters.AddWithValue("hash", tokenHash);
            return await consume.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<EnrollmentTokenRecord>> ListEnrollmentTokensAsync(CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<EnrollmentTokenRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection,
                "SELECT token_hash, created_at_ticks, expires_at_ticks FROM enrollment_tokens ORDER BY created_at_ticks, token_hash");
            await using var reader = await command.ExecuteReaderAsync(token);
            var tokens = new List<EnrollmentTokenRecord>();
            while (await reader.ReadAsync(token))
            {
                tokens.Add(new EnrollmentTokenRecord(reader.GetString(0), Ticks.ToInstant(reader.GetInt64(1)), Ticks.ToInstant(reader.GetInt64(2))));
            }

            return tokens;
        }, cancellationToken);
}
