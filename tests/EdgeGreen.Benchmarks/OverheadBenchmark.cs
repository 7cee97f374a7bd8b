using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EdgeGreen.ControlPlane;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Core.Security;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// The agent's own cost, measured in the same run beside Prometheus' node exporter (the Debian
/// package <c>prometheus-node-exporter</c>): the agent samples every sensor at 1 Hz and uploads to
/// a control plane in this process, the node exporter answers a scrape every second, and both
/// processes' /metrics are scraped at 1 Hz. After a warm-up, each process's CPU seconds over the
/// window come from its /proc/PID/stat; peak RSS is its VmHWM (over its whole life, start included).
/// The agent reads a fixture sysfs tree with two RAPL packages and DRAM, two hwmon chips and a
/// battery, and a fake NVML library with two GPUs (built with gcc), so every sensor reader runs.
/// </summary>
public static class OverheadBenchmark
{
    private const double RssGoalMegabytes = 80;

    public static async Task<int> RunAsync(TimeSpan window)
    {
        var root = RepositoryRoot();
        var work = Directory.CreateTempSubdirectory("edgegreen-overhead-").FullName;
        try
        {
            var exporter = FindExporter();
            if (exporter is null)
            {
                Console.Error.WriteLine("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter).");
                return 1;
            }

            // Published as deploy/ ships it: framework-dependent, ReadyToRun.
            Console.WriteLine("Publishing the agent (Release, linux-x64, ReadyToRun)...");
            var agentDirectory = Path.Combine(work, "agent");
            await RunToEndAsync("dotnet", ["publish", Path.Combine(root, "agent", "EdgeGreen.Agent.Host", "EdgeGreen.Agent.Host.csproj"), "-c", "Release", "-r", "linux-x64",
                "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", agentDirectory, "-v", "quiet", "-nologo"]);
            var sysfs = FixtureSysfs(work);
            var nvml = await BuildFakeNvmlAsync(root, work);

            await using var controlPlane = await StartControlPlaneAsync(work);
            var tokens = controlPlane.Services.GetRequiredService<EnrollmentTokens>();
            var grpc = controlPlane.Services.GetRequiredService<KestrelEndpoints>().Grpc;
            var agentPort = FreePort();
            var exporterPort = FreePort();

            var agentInfo = new ProcessStartInfo("dotnet", [Path.Combine(agentDirectory, "EdgeGreen.Agent.Host.dll")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = work,
            };
            foreach (var (key, value) in new Dictionary<string, string>
            {
                ["EdgeGreen__Agent__ControlPlaneUrl"] = grpc.ToString(),
                ["EdgeGreen__Agent__EnrollmentToken"] = (await tokens.MintAsync(CancellationToken.None)).Token,
                ["EdgeGreen__Agent__DataDirectory"] = Path.Combine(work, "agent-data"),
                ["EdgeGreen__Agent__Zone"] = "ES",
                ["EdgeGreen__Agent__SampleInterval"] = "00:00:01",
                ["EdgeGreen__Agent__Sensors__SysfsRoot"] = sysfs,
                ["EdgeGreen__Agent__Sensors__Rapl__Dram"] = "true",
                ["EdgeGreen__Agent__Sensors__NvmlLibrary"] = nvml ?? "libnvidia-ml.so.1",
                ["EdgeGreen__Agent__HttpUrl"] = $"http://127.0.0.1:{agentPort}/",
                ["Logging__LogLevel__Default"] = "Warning",
            })
            {
                agentInfo.Environment[key] = value;
            }

            using var agent = Process.Start(agentInfo)!;
            using var nodeExporter = Process.Start(new ProcessStartInfo(exporter, [$"--web.listen-address=127.0.0.1:{exporterPort}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            _ = agent.StandardOutput.ReadToEndAsync();
            var agentErrors = agent.StandardError.ReadToEndAsync();
            _ = nodeExporter.StandardOutput.ReadToEndAsync();
            _ = nodeExporter.StandardError.ReadToEndAsync();
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                var agentMetrics = new Uri($"http://127.0.0.1:{agentPort}/metrics");
                var exporterMetrics = new Uri($"http://127.0.0.1:{exporterPort}/metrics");
                await WaitUntilUpAsync(http, agentMetrics, agent);
                await WaitUntilUpAsync(http, exporterMetrics, nodeExporter);

                Console.WriteLine($"Warm-up 15 s, then {window.TotalSeconds:0} s measured; both scraped at 1 Hz.");
                await ScrapeAsync(http, [agentMetrics, exporterMetrics], TimeSpan.FromSeconds(15));
                var agentStart = CpuSeconds(agent.Id);
                var exporterStart = CpuSeconds(nodeExporter.Id);
                var scraped = await ScrapeAsync(http, [agentMetrics, exporterMetrics], window);
                var agentCpu = CpuSeconds(agent.Id) - agentStart;
                var exporterCpu = CpuSeconds(nodeExporter.Id) - exporterStart;
                var agentRss = PeakRssMegabytes(agent.Id);
                var exporterRss = PeakRssMegabytes(nodeExporter.Id);
                var agentPage = await http.GetStringAsync(agentMetrics);
                var samples = MetricSum(agentPage, "edgegreen_agent_readings_acknowledged_total");

                Console.WriteLine();
                Console.WriteLine($"| process | CPU s in {window.TotalSeconds:0} s | CPU % of one core | peak RSS MB |");
                Console.WriteLine("| --- | ---: | ---: | ---: |");
                Console.WriteLine(Row("EdgeGreen agent (all sensors, 1 Hz, uploading)", agentCpu, window, agentRss));
                Console.WriteLine(Row("prometheus-node-exporter (scraped at 1 Hz)", exporterCpu, window, exporterRss));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| agent ÷ node exporter | {agentCpu / exporterCpu:0.00}× | | {agentRss / exporterRss:0.00}× |"));
                Console.WriteLine();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scrapes answered: {scraped}. Readings the control plane acknowledged from the agent: {samples:0}."));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Goals: agent CPU ≤ node exporter's: {(agentCpu <= exporterCpu ? "met" : "missed")}; agent peak RSS ≤ {RssGoalMegabytes} MB: {(agentRss <= RssGoalMegabytes ? "met" : "missed")}."));
                if (samples == 0)
                {
                    Console.Error.WriteLine("The agent uploaded nothing: " + (agent.HasExited ? await agentErrors : "no acknowledged readings"));
                    return 1;
                }
            }
            finally
            {
                Stop(agent);
                Stop(nodeExporter);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string Row(string name, double cpuSeconds, TimeSpan window, double rssMegabytes) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {cpuSeconds:0.00} | {100 * cpuSeconds / window.TotalSeconds:0.00} | {rssMegabytes:0.0} |");

    private static async Task<int> ScrapeAsync(HttpClient http, Uri[] targets, TimeSpan duration)
    {
        var answered = 0;
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (clock.Elapsed < duration && await timer.WaitForNextTickAsync())
        {
            foreach (var target in targets)
            {
                _ = await http.GetStringAsync(target);
                answered++;
            }
        }

        return answered;
    }

    private static async Task WaitUntilUpAsync(HttpClient http, Uri url, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{url} did not answer within 60 s.");
    }

    /// <summary>utime + stime of a process in seconds (USER_HZ = 100).</summary>
    private static double CpuSeconds(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static double PeakRssMegabytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static double MetricSum(string page, string name) =>
        page.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)).Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    private static string FixtureSysfs(string work)
    {
        var sysfs = Path.Combine(work, "sys");
        void Write(string path, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(sysfs, path))!);
            File.WriteAllText(Path.Combine(sysfs, path), text + "\n");
        }

        foreach (var (zone, name) in new[] { ("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "dram"), ("intel-rapl:1", "package-1") })
        {
            Write($"class/powercap/{zone}/name", name);
            Write($"class/powercap/{zone}/energy_uj", "123456789");
            Write($"class/powercap/{zone}/max_energy_range_uj", "262143328850");
        }

        Write("class/hwmon/hwmon0/name", "ina3221");
        Write("class/hwmon/hwmon0/power1_input", "5000000");
        Write("class/hwmon/hwmon0/power2_input", "2000000");
        Write("class/hwmon/hwmon1/name", "acpi_power_meter");
        Write("class/hwmon/hwmon1/energy1_input", "1000000");
        Write("class/power_supply/BAT0/type", "Battery");
        Write("class/power_supply/BAT0/status", "Discharging");
        Write("class/power_supply/BAT0/power_now", "9000000");
        return sysfs;
    }

    /// <summary>The fake NVML library of the agent's tests, with two GPUs; null (and no GPU sensor) where gcc is missing.</summary>
    private static async Task<string?> BuildFakeNvmlAsync(string root, string work)
    {
        var library = Path.Combine(work, "libfakenvml.so");
        try
        {
            await RunToEndAsync("gcc", ["-shared", "-fPIC", "-O2", "-o", library, Path.Combine(root, "tests", "fixtures", "nvml", "fake_nvml.c")]);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Console.WriteLine($"No fake NVML (gcc: {ex.Message}); the GPU sensor is left out.");
            return null;
        }

        // The fake reads its state from its working directory's files unless told otherwise; the
        // agent's working directory is the benchmark's, where these files are.
        File.WriteAllText(Path.Combine(work, "count"), "2\n");
        foreach (var gpu in new[] { "gpu0", "gpu1" })
        {
            Directory.CreateDirectory(Path.Combine(work, gpu));
            File.WriteAllText(Path.Combine(work, gpu, "energy_mj"), "5000\n");
            File.WriteAllText(Path.Combine(work, gpu, "power_mw"), "70000\n");
        }

        return library;
    }

    private static async Task<WebApplication> StartControlPlaneAsync(string work)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = work, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["EdgeGreen:Storage:DataDirectory"] = Path.Combine(work, "data"),
            ["EdgeGreen:LocalAgent:Enabled"] = "false",
        });
        builder.Logging.ClearProviders();
        builder.AddControlPlane();
        var app = builder.Build();
        app.MapControlPlane();
        await app.StartAsync();
        return app;
    }

    private static async Task RunToEndAsync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {await output}{await errors}");
        }
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExporter() =>
        new[] { "/usr/bin/prometheus-node-exporter", "/usr/local/bin/node_exporter", "/usr/bin/node_exporter" }.FirstOrDefault(File.Exists);

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeGreen.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmark from inside the EdgeGreen repository.");
    }
}
