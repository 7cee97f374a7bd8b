using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Security;

/// <summary>
/// On the first start (no API key stored yet) mints an admin key, writes it to
/// <c>&lt;data directory&gt;/admin.key</c> with mode 0600 and prints it once. Later starts only
/// say where the file is.
/// </summary>
public sealed partial class AdminKeyBootstrapper(
    IAccessStore access,
    ApiKeys apiKeys,
    IOptions<StorageOptions> storage,
    ILogger<AdminKeyBootstrapper> logger) : IHostedService
{
    public string KeyPath => Path.GetFullPath(Path.Combine(storage.Value.DataDirectory, "admin.key"));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await access.AnyApiKeyAsync(cancellationToken))
        {
            return;
        }

        var (_, key) = await apiKeys.MintAsync("bootstrap-admin", ApiKeyRole.Admin, cancellationToken);
        PrivateDirectory.Create(storage.Value.DataDirectory);
        await PrivateFile.WriteAsync(KeyPath, async stream =>
        {
            await using var writer = new StreamWriter(stream);
            await writer.WriteLineAsync(key.AsMemory(), cancellationToken);
        });

        // The key goes to the console, not the log: log sinks are often shipped and kept.
        Console.WriteLine($"""

            EdgeGreen minted the first admin API key. It is shown only now and kept in {KeyPath}:

                {key}

            """);
        LogMinted(KeyPath);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Minted the bootstrap admin API key into {KeyPath}")]
    private partial void LogMinted(string keyPath);
}
