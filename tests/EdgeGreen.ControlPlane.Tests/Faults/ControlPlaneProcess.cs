using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Faults;

/// <summary>
/// The control plane as the README runs it (<c>dotnet EdgeGreen.ControlPlane.dll</c>, configured by
/// environment variables), on loopback ports fixed for its whole life, so that it can be killed
/// with SIGKILL and started again at the same address over the same data, and agents reconnect.
/// Everything each incarnation prints is kept, to explain a failure.
/// </summary>
internal sealed class ControlPlaneProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    /// <param name="dataDirectory">The data directory, kept across restarts.</param>
    /// <param name="settings">More environment variables (a storage provider, its connection string).</param>
    public ControlPlaneProcess(string dataDirectory, IReadOnlyDictionary<string, string> settings)
    {
        DataDirectory = dataDirectory;
        var httpPort = LoopbackPorts.Free();
        var grpcPort = LoopbackPorts.Free();
        while (grpcPort == httpPort)
        {
            grpcPort = LoopbackPorts.Free();
        }

        HttpUrl = new Uri($"http://127.0.0.1:{httpPort}");
        GrpcUrl = new Uri($"http://127.0.0.1:{grpcPort}");
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kestrel__Endpoints__Http__Url"] = HttpUrl.GetLeftPart(UriPartial.Authority),
            ["Kestrel__Endpoints__Grpc__Url"] = GrpcUrl.GetLeftPart(UriPartial.Authority),
            ["EdgeGreen__Storage__DataDirectory"] = dataDirectory,
            ["EdgeGreen__LocalAgent__Enabled"] = "false",
            ["EdgeGreen__Feed__Broker"] = "Off",
            ["EdgeGreen__Datasets__SeedSample"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            _environment[key] = value;
        }
    }

    public string DataDirectory { get; }

    public Uri HttpUrl { get; }

    public Uri GrpcUrl { get; }

    /// <summary>How many times the process was started.</summary>
    public int Starts { get; private set; }

    /// <summary>What every incarnation wrote to stdout and stderr, in order.</summary>
    public IReadOnlyCollection<string> Output => _output;

    public string AdminKey => File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim();

    /// <summary>Starts the process and waits until <c>/readyz</c> answers 200.</summary>
    public async Task StartAsync()
    {
        Assert.Null(_process);
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "EdgeGreen.ControlPlane.dll")])
        {
            WorkingDirectory = DataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        Directory.CreateDirectory(DataDirectory);
        Starts++;
        _output.Enqueue($"--- start {Starts} ---");
        var process = Process.Start(start)!;
        _process = process;
        process.OutputDataReceived += (_, e) => _output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => _output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = HttpUrl, Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.WaitUntilAsync(async () =>
        {
            Assert.False(process.HasExited, $"The control plane exited with {(process.HasExited ? process.ExitCode : 0)} while starting:\n{Tail()}");
            try
            {
                using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                return ready.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, StartTimeout, $"start {Starts} of the control plane is ready");
    }

    /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the agents.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had exited already: the output says why.
        }

        await process.WaitForExitAsync();
        process.Dispose();
        _output.Enqueue($"--- killed ---");
    }

    /// <summary>A one-time enrollment token, minted over REST with the admin key.</summary>
    public async Task<string> MintEnrollmentTokenAsync()
    {
        using var http = new HttpClient { BaseAddress = HttpUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await http.PostAsync(new Uri("/api/v1/enrollment-tokens", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    /// <summary>The last lines printed, for failure messages.</summary>
    public string Tail(int lines = 80) => string.Join('\n', _output.TakeLast(lines));

    public async ValueTask DisposeAsync() => await KillAsync();
}
