using System.Diagnostics;
using System.Globalization;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// The dashboard's pages in a real browser (headless Chromium from the OS package, driven by
/// Playwright) over a fleet-sized store — 1,010 agents and about 10 million readings, the
/// <c>queries</c> benchmark's load, the agents enrolled — against the same pages over an empty
/// store in the same run (the baseline: what a page costs with nothing to show). Measured per page,
/// 20 fresh navigations after one warm-up: the first render (from the request until the heading
/// is shown and no part of the page is still loading: the server prerenders and streams it) and the
/// time until the page is interactive (its circuit is up and it updates live).
/// </summary>
internal static class DashboardBenchmark
{
    private const int Runs = 20;

    public static async Task RunAsync(StorageTargets targets, double scale)
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed (apt-get install chromium); the dashboard benchmark drives it.");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });

        var empty = await MeasureAsync(browser, await targets.FreshAsync(), load: null);
        var full = await MeasureAsync(browser, await targets.FreshAsync(), load: scale);

        Console.WriteLine($"Dashboard pages on {full.Store}: {full.Agents:N0} agents and {full.Readings:N0} readings stored (loaded in {full.LoadSeconds:N0} s), against the same pages over an empty store; {Runs} navigations each, p50 / p95:");
        Console.WriteLine();
        Console.WriteLine("| page | first render, full store | first render, empty store | full ÷ empty | interactive, full store (p50) | goal |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|");
        foreach (var (page, timing) in full.Pages)
        {
            var baseline = empty.Pages[page];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{page}` | {timing.RenderP50:N0} / {timing.RenderP95:N0} ms | {baseline.RenderP50:N0} / {baseline.RenderP95:N0} ms | {timing.RenderP50 / baseline.RenderP50:N1}× | {timing.InteractiveP50:N0} ms | first render < 1,000 ms: {(timing.RenderP95 < 1000 ? "yes" : "no")} |"));
        }
    }

    private static async Task<Measurement> MeasureAsync(IBrowser browser, StorageTarget storage, double? load)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-dashboard-").FullName;
        try
        {
            await using var app = await BenchmarkHost.StartAsync(directory, storage, new Dictionary<string, string?>
            {
                ["EdgeGreen:Telemetry:RawRetention"] = "",
                ["EdgeGreen:Telemetry:MinuteRetention"] = "",
                ["EdgeGreen:Limits:AnonymousRequestsPerMinute"] = "100000",
                ["EdgeGreen:Limits:AddressRequestsPerMinute"] = "100000",
            });
            long readings = 0;
            double loadSeconds = 0;
            var agents = 0;
            if (load is { } scale)
            {
                var end = new DateTimeOffset(DateTimeOffset.UtcNow.UtcTicks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero);
                var clock = Stopwatch.StartNew();
                readings = await QueryBenchmark.LoadAsync(app.Services.GetRequiredService<ITelemetryStore>(), end, scale);
                loadSeconds = clock.Elapsed.TotalSeconds;
                agents = await EnrolAsync(app.Services.GetRequiredService<IAgentStore>(), QueryBenchmark.AgentIds(scale), end);
            }

            var key = (await File.ReadAllTextAsync(Path.Combine(directory, "admin.key"))).Trim();
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = app.Services.GetRequiredService<KestrelEndpoints>().Http.ToString() });
            var page = await context.NewPageAsync();
            await page.GotoAsync("signin");
            await page.GetByLabel("API key").FillAsync(key);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));

            var pages = new Dictionary<string, Timing>();
            foreach (var path in Pages(agents > 0 ? "dense-0" : "none"))
            {
                pages[path.Label] = await TimePageAsync(page, path.Url);
                Console.Error.WriteLine($"{storage.Name} {(load is null ? "empty" : "full")}: {path.Label} {pages[path.Label].RenderP50:N0} ms");
            }

            await context.DisposeAsync();
            return new Measurement(storage.Name, agents, readings, loadSeconds, pages);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static IEnumerable<(string Label, string Url)> Pages(string agent) =>
    [
        ("/", ""), ("/agents", "agents"), ("/agents/{id}", $"agents/{agent}"), ("/jobs", "jobs"), ("/pipelines", "pipelines"),
        ("/models", "models"), ("/deployments", "deployments"), ("/carbon", "carbon"), ("/alerts", "alerts"),
    ];

    private static async Task<Timing> TimePageAsync(IPage page, string url)
    {
        var render = new List<double>();
        var interactive = new List<double>();
        for (var run = -1; run < Runs; run++)
        {
            var clock = Stopwatch.StartNew();
            await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
            await page.WaitForFunctionAsync("() => document.querySelector('h1') && !document.querySelector('.eg-loading')",
                null, new PageWaitForFunctionOptions { PollingInterval = 5, Timeout = 60_000 });
            var rendered = clock.Elapsed.TotalMilliseconds;
            await page.Locator("html[data-interactive='true']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
            if (run >= 0)
            {
                render.Add(rendered);
                interactive.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        render.Sort();
        interactive.Sort();
        return new Timing(BenchmarkHost.Percentile(render, 0.5), BenchmarkHost.Percentile(render, 0.95), BenchmarkHost.Percentile(interactive, 0.5));
    }

    /// <summary>Enrols the agents whose readings were loaded, online, each in its zone.</summary>
    private static async Task<int> EnrolAsync(IAgentStore agents, IReadOnlyList<(string Id, string Zone)> ids, DateTimeOffset now)
    {
        foreach (var (id, zone) in ids)
        {
            await agents.AddAsync(new AgentRecord(id, id, zone, new Dictionary<string, string>(), Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), now.AddDays(-30),
                DateTimeOffset.UtcNow, null), CancellationToken.None);
        }

        return ids.Count;
    }

    private sealed record Timing(double RenderP50, double RenderP95, double InteractiveP50);

    private sealed record Measurement(string Store, int Agents, long Readings, double LoadSeconds, IReadOnlyDictionary<string, Timing> Pages);
}
