
namespace EdgeGreen.ControlPlane.Security;

/// <summary>Mints API keys; the plain key is returned once and only its hash is kept.</summary>
public sealed class ApiKeys(IAccessStore access, TimeProvider timeProvider)
{
    public async Task<(ApiKeyRecord Record, string Key)> MintAsync(string name, ApiKeyRole role, CancellationToken cancellationToken)
    {
        var key = Secrets.New(Secrets.ApiKeyPrefix);
        var record = new ApiKeyRecord(Secrets.NewId(), name, role, Secrets.Hash(key), timeProvider.GetUtcNow());
        await access.AddApiKeyAsync(record, cancellationToken);
        return (record, key);
    }
}
