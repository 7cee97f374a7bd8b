using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

public sealed class LiteDbAccessStore : IAccessStore
{
    private readonly LiteDbDatabase _database;

    private ILiteCollection<BsonDocument> ApiKeys => _database.Database.GetCollection("api_keys");

    private ILiteCollection<BsonDocument> Tokens => _database.Database.GetCollection("enrollment_tokens");

    public LiteDbAccessStore(LiteDbDatabase database)
    {
        _database = database;
        ApiKeys.EnsureIndex("keyHash", unique: true);
    }

    public Task<bool> AnyApiKeyAsync(CancellationToken cancellationToken) => Task.FromResult(ApiKeys.Exists(Query.All()));

    public Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken cancellationToken)
    {
        _database.Write(_ => ApiKeys.Insert(new BsonDocument
        {
            ["_id"] = apiKey.Id,
            ["name"] = apiKey.Name,
            ["role"] = apiKey.Role.ToString(),
            ["keyHash"] = apiKey.KeyHash,
            ["createdAt"] = apiKey.CreatedAt.UtcTicks,
        }));
        return Task.CompletedTask;
    }

    public Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken cancellationToken)
    {
        var document = ApiKeys.FindOne(LiteQueries.EQ("keyHash", keyHash));
        return Task.FromResult(document is null
            ? null
            : new ApiKeyRecord(document["_id"].AsString, document["name"].AsString, Enum.Parse<ApiKeyRole>(document["role"].AsString),
                document["keyHash"].AsString, Ticks.ToInstant(document["createdAt"].AsInt64)));
    }

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApiKeyRecord>>(_database.Read(() => ApiKeys.FindAll()
            .Select(d => new ApiKeyRecord(d["_id"].AsString, d["name"].AsString, Enum.Parse<ApiKeyRole>(d["role"].AsString), d["keyHash"].AsString,
                Ticks.ToInstant(d["createdAt"].AsInt64)))
            .OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList()));

    public Task AddEnrollmentTokenAsync(EnrollmentTokenRecord token, CancellationToken cancellationToken)
    {
        _database.Write(_ => Tokens.Insert(new BsonDocument
        {
            ["_id"] = token.TokenHash,
            ["createdAt"] = token.CreatedAt.UtcTicks,
            ["expiresAt"] = token.ExpiresAt.UtcTicks,
        }));
        return Task.CompletedTask;
    }

    public Task<bool> TryConsumeEnrollmentTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            // Expired tokens are swept on every consumption so the collection stays small.
            Tokens.DeleteMany(LiteQueries.LT("expiresAt", now.UtcTicks));
            return Tokens.Delete(tokenHash);
        }));

    public Task<IReadOnlyList<EnrollmentTokenRecord>> ListEnrollmentTokensAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<EnrollmentTokenRecord>>(_database.Read(() => Tokens.FindAll()
            .Select(d => new EnrollmentTokenRecord(d["_id"].AsString, Ticks.ToInstant(d["createdAt"].AsInt64), Ticks.ToInstant(d["expiresAt"].AsInt64)))
            .OrderBy(t => t.CreatedAt).ThenBy(t => t.TokenHash, StringComparer.Ordinal).ToList()));
}
