using Microsoft.Extensions.DependencyInjection;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>Each test of a derived class gets its own real control plane over a fresh data directory.</summary>
public abstract class ControlPlaneTest : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private HttpClient? _adminClient;

    internal TestControlPlane ControlPlane { get; private set; } = null!;

    /// <summary>A client with the bootstrap admin key, made on first use.</summary>
    protected HttpClient AdminClient => _adminClient ??= ControlPlane.CreateClient(ControlPlane.AdminKey);

    /// <summary>Settings on top of the test defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    public virtual async Task InitializeAsync() => ControlPlane = await TestControlPlane.StartAsync(_temp.Path, settings: Settings, services: ConfigureServices);

    /// <summary>Services added to the control plane's own, after its features.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async Task DisposeAsync()
    {
        _adminClient?.Dispose();
        await ControlPlane.DisposeAsync();
        _temp.Dispose();
    }
}
