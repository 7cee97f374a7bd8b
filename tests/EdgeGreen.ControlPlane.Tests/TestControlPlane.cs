using System.Collections.Concurrent;
using System.Net.Http.Headers;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Core.Security;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>A real control plane on loopback Kestrel (ports chosen by the OS) over a data directory.</summary>
internal sealed class TestControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestControlPlane(WebApplication app, string dataDirectory, ErrorLog errors)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Errors = errors;
    }

    public string DataDirectory { get; }

    /// <summary>Everything logged at error level or above; tests of healthy paths expect none.</summary>
    public ErrorLog Errors { get; }

    public Uri HttpUrl => Service<KestrelEndpoints>().Http;

    public Uri GrpcUrl => Service<KestrelEndpoints>().Grpc;

    public string AdminKey => File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim();

    public static async Task<TestControlPlane> StartAsync(string dataDirectory, int grpcPort = 0, bool localAgent = false,
        IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var app = Build(dataDirectory, grpcPort, localAgent, settings, out var errors, services);
        await app.StartAsync();
        return new TestControlPlane(app, dataDirectory, errors);
    }

    public static WebApplication Build(string dataDirectory, int grpcPort, bool localAgent, IReadOnlyDictionary<string, string?>? settings, out ErrorLog errors,
        Action<IServiceCollection>? services = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Development,
            ContentRootPath = dataDirectory,
            ApplicationName = typeof(ControlPlaneExtensions).Assembly.GetName().Name,
        });
        var values = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["EdgeGreen:Storage:DataDirectory"] = dataDirectory,
            ["EdgeGreen:LocalAgent:Enabled"] = localAgent.ToString(),
            ["EdgeGreen:LocalAgent:SampleInterval"] = "00:00:00.200",
            ["EdgeGreen:LocalAgent:HeartbeatInterval"] = "00:00:01",
            ["EdgeGreen:LocalAgent:Uplink:Linger"] = "00:00:00",
            ["EdgeGreen:Datasets:SeedSample"] = "false",
            // Many control planes run at once here; the feed tests turn the broker on, on a free port.
            ["EdgeGreen:Feed:Broker"] = "Off",
            // An empty sysfs, so that the local agent models its power on any test machine.
            ["EdgeGreen:LocalAgent:Sensors:SysfsRoot"] = Path.Combine(dataDirectory, "no-sysfs"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(values);
        errors = new ErrorLog();
        builder.Logging.ClearProviders().AddProvider(errors);
        builder.AddControlPlane();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapControlPlane();
        return app;
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = HttpUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async Task<string> MintEnrollmentTokenAsync() => (await Service<EnrollmentTokens>().MintAsync(CancellationToken.None)).Token;

    public async Task<string> MintApiKeyAsync(ControlPlane.Core.Storage.ApiKeyRole role) =>
        (await Service<ApiKeys>().MintAsync($"test-{role}", role, CancellationToken.None)).Key;

    /// <summary>Stops the host, then fails the test on any error it logged that the test did not expect.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Errors.Dispose();
        Errors.AssertNoneUnexpected();
    }
}

/// <summary>
/// Collects a host's error-level log entries and the task exceptions nobody observed while it ran,
/// so that its test fails on either unless the test said it expects them (as MQTTnet's test
/// environment does).
/// </summary>
internal sealed class ErrorLog : ILoggerProvider
{
    /// <summary>
    /// Logged by the gRPC server when a client gives up on a call (its deadline passed on a loaded
    /// machine) or goes away while sending one (an agent stopping mid-heartbeat at the end of a
    /// test): nothing on the server went wrong.
    /// </summary>
    private static readonly string[] Benign = ["The client reset the request stream", "The request stream was aborted"];

    private const int RecentCapacity = 200;

    private readonly ConcurrentQueue<string> _entries = new();
    private readonly ConcurrentQueue<string> _expected = new();
    private readonly ConcurrentQueue<string> _recent = new();
    private int _disposed;

    public ErrorLog() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>
    /// The last lines EdgeGreen logged at information or above (and anyone's warnings), with their
    /// time: what a test that timed out prints to say where things stood.
    /// </summary>
    public string Recent => string.Join("\n", _recent);

    /// <summary>Entries the test has not declared with <see cref="Expect"/>.</summary>
    public IReadOnlyList<string> Unexpected =>
        [.. _entries.Where(e => !Benign.Concat(_expected).Any(fragment => e.Contains(fragment, StringComparison.Ordinal)))];

    /// <summary>Declares errors the test provokes on purpose: entries containing one of <paramref name="fragments"/>.</summary>
    public void Expect(params string[] fragments)
    {
        foreach (var fragment in fragments)
        {
            _expected.Enqueue(fragment);
        }
    }

    public void AssertNoneUnexpected()
    {
        var unexpected = Unexpected;
        Assert.True(unexpected.Count == 0, "Errors were logged:\n" + string.Join("\n", unexpected));
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        // MQTTnet's server leaves its own send loop's task unobserved when a subscriber's socket is
        // already gone (broken pipe, reset): the library's fire-and-forget on a closed connection,
        // which nothing in EdgeGreen awaits or could handle, and which changes nothing it does.
        var text = e.Exception.ToString();
        if (text.Contains("MqttConnectedClient.SendPacketsLoop", StringComparison.Ordinal)
            && (text.Contains("Broken pipe", StringComparison.Ordinal) || text.Contains("Connection reset", StringComparison.Ordinal)))
        {
            return;
        }

        // ASP.NET Core 10's Blazor Server may still be pausing a closing page's circuit when the host
        // that owns it is disposed (a framework race, dotnet/aspnetcore#63010): the circuit is gone
        // either way, and nothing of EdgeGreen's runs in that task.
        if (e.Exception.InnerExceptions.Any(inner => inner is ObjectDisposedException)
            && text.Contains("CircuitPersistenceManager.PauseCircuitAsync", StringComparison.Ordinal))
        {
            return;
        }

        // Likewise its JS interop: a browser's answer to a .NET call that lands after the circuit was
        // torn down (the page closed, the host stopped) fails inside RemoteJSRuntime, in a task of the
        // framework's own that nothing awaits.
        if (e.Exception.InnerExceptions.Any(inner => inner is NullReferenceException or ObjectDisposedException)
            && e.Exception.InnerExceptions.All(inner => inner.StackTrace?.Contains("Microsoft.AspNetCore.Components.Server.Circuits.RemoteJSRuntime", StringComparison.Ordinal) == true))
        {
            return;
        }

        _entries.Enqueue($"Unobserved task exception: {text}");
    }

    private void Remember(string line)
    {
        _recent.Enqueue(line);
        while (_recent.Count > RecentCapacity && _recent.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(string category, ErrorLog log) : ILogger
    {
        private readonly LogLevel _recentFrom = category.StartsWith("EdgeGreen", StringComparison.Ordinal) ? LogLevel.Information : LogLevel.Warning;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error || logLevel >= _recentFrom;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var line = $"{category}: {formatter(state, exception)} {exception}";
            log.Remember($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {logLevel} {line}");
            if (logLevel >= LogLevel.Error)
            {
                log._entries.Enqueue(line);
            }
        }
    }
}
