using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Playwright;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>The jobs and pipelines pages in a real browser against a control plane whose local agent runs the jobs.</summary>
public sealed class JobsPipelinesPageTests(Browser browser) : IClassFixture<Browser>, IAsyncLifetime
{
    private const string TimeZone = "Europe/Madrid";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();
    private readonly List<IPage> _pages = [];
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync()
    {
        _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
        {
            // Circuits must outlive the REST time limit.
            ["EdgeGreen:Limits:RequestTimeout"] = "00:00:05",
            // Ten-second slots, so that a run with a one-minute deadline is planned within it; a horizon past the jobs' deadlines.
            ["EdgeGreen:Scheduling:SlotDuration"] = "00:00:10",
            ["EdgeGreen:Scheduling:Horizon"] = "08:00:00",
            ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.200",
            ["EdgeGreen:Pipelines:Interval"] = "00:00:00.200",
        });

        // A job is planned onto an agent that has reported its capacity (a heartbeat) and holds its
        // job stream; "online" alone is not enough (its first readings make it online).
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        var dispatcher = _controlPlane.Service<JobDispatcher>();
        await Eventually.WaitUntilAsync(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/v1/agents")).EnumerateArray()
            .Any(a => a.GetProperty("status").GetString() == "online" && a.TryGetProperty("capacity", out var capacity) && capacity.ValueKind == JsonValueKind.Object
                && dispatcher.IsConnected(a.GetProperty("id").GetString()!)),
            Patience, "the local agent has reported its capacity and holds its job stream");
    }

    public async Task DisposeAsync()
    {
        // Each page leaves before the host stops, so that its circuit ends (the page says so as it goes) rather than
        // being kept for a reconnect that the stopping host would then try to pause with its services already gone.
        foreach (var page in _pages)
        {
            await page.GotoAsync("about:blank");
            await page.Context.CloseAsync();
        }

        var live = _controlPlane.Service<EdgeGreen.ControlPlane.Dashboard.LiveEvents>();
        await Eventually.WaitUntilAsync(() => live.SubscriberCount == 0, Patience, () => $"every page's circuit ended ({live.SubscriberCount} left)");
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }

    [RequiresProgramFact("chromium")]
    public async Task Submit_AsOperator_ShowsFieldErrorsThenLandsOnThePlannedJob_WhichTheListAndTimelineShow()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Operator), "jobs");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs", Level = 1 })).ToBeVisibleAsync();
        await page.WaitForCircuitAsync();
        await page.GetByTestId("submit-link").ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Submit a job", Level = 1 })).ToBeVisibleAsync();
        await page.WaitForCircuitAsync();

        // What the service refuses is said next to the field it is about.
        await page.GetByLabel("Parameters").FillAsync("duration=PT2S\nthreads=0");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
        await Assertions.Expect(page.Locator("#job-name ~ .validation-message")).ToContainTextAsync("name is required");
        await Assertions.Expect(page.Locator("#job-parameters ~ .validation-message")).ToContainTextAsync("threads must be");
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));

        // Earliest start an hour ahead, so that the job is still waiting when its page opens; typed in the browser's zone.
        var zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        var now = DateTimeOffset.UtcNow;
        var earliest = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddHours(1);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("ui-burn");
        await page.GetByLabel("Parameters").FillAsync("duration=PT2S\nthreads=1");
        await page.GetByLabel("Earliest start (optional)").FillAsync(LocalInput(earliest, zone));
        await page.GetByLabel("Deadline (optional)").FillAsync(LocalInput(earliest.AddHours(5), zone));
        await page.ScreenshotAsync("job-submit");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();

        await page.WaitForURLAsync(url => url.Contains("/jobs/", StringComparison.Ordinal) && !url.EndsWith("/jobs/new", StringComparison.Ordinal));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Job ui-burn", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("job-status")).ToContainTextAsync("planned");
        await Assertions.Expect(page.GetByTestId("job-plan")).Not.ToContainTextAsync("not planned");
        var id = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        var job = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}");
        Assert.Equal("pending", job.GetProperty("status").GetString());
        Assert.Equal(earliest, job.GetProperty("earliestStart").GetDateTimeOffset());
        Assert.Equal(earliest.AddHours(5), job.GetProperty("deadline").GetDateTimeOffset());
        Assert.True(job.GetProperty("plannedStart").GetDateTimeOffset() >= earliest);
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("job");
        violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));

        await page.GotoAsync("jobs");
        await Assertions.Expect(page.GetByTestId("jobs-table")).ToContainTextAsync("ui-burn");
        var timeline = page.GetByTestId($"timeline-{job.GetProperty("zone").GetString()}");
        await Assertions.Expect(timeline).ToContainTextAsync("ui-burn: planned start");
        await Assertions.Expect(timeline.Locator("[role=img]")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("planned starts: 1"));
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("jobs");
        violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Viewer_SeesNoSubmitLinkOrCancelButton_AndTheSubmitPageIsNotAllowed()
    {
        var id = await SubmitFarAheadAsync("viewer-sees");
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "jobs");
        await Assertions.Expect(page.GetByTestId("jobs-table")).ToContainTextAsync("viewer-sees");
        await page.WaitForCircuitAsync();
        await Assertions.Expect(page.GetByTestId("submit-link")).ToHaveCountAsync(0);

        await page.GotoAsync($"jobs/{id}");
        await Assertions.Expect(page.GetByTestId("job-status")).ToContainTextAsync("planned");
        await page.WaitForCircuitAsync();
        await Assertions.Expect(page.GetByTestId("cancel-job")).ToHaveCountAsync(0);

        await page.GotoAsync("jobs/new");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("Parameters")).ToHaveCountAsync(0);
        await page.WaitForCircuitAsync();
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Cancel_AsOperator_AJobPlannedHoursAhead_ShowsItCancelled()
    {
        var id = await SubmitFarAheadAsync("far-ahead");
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Operator), $"jobs/{id}");
        await Assertions.Expect(page.GetByTestId("job-status")).ToContainTextAsync("planned");
        await page.WaitForCircuitAsync();

        await page.GetByTestId("cancel-job").ClickAsync();
        await Assertions.Expect(page.GetByTestId("cancel-outcome")).ToHaveTextAsync("Cancelled.");
        await Assertions.Expect(page.GetByTestId("job-status")).ToContainTextAsync("cancelled");
        await Assertions.Expect(page.GetByTestId("cancel-job")).ToHaveCountAsync(0);
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        Assert.Equal("cancelled", (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}")).GetProperty("status").GetString());
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task PipelineRun_DefinedAndRunThroughRest_ShowsBothStepsAsAGraph_WithTheirStatusOnceFinished()
    {
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        using (var put = await admin.PutAsJsonAsync("/api/v1/pipelines/two-burns", new
        {
            // The bundled traces are hourly: every slot of the minute costs the same, so the run may take all of it.
            deadline = "PT1M",
            steps = new object[]
            {
                new { name = "warm-up", kind = "burn", parameters = new { duration = "PT1S", threads = 1 }, estimatedPowerWatts = 5 },
                new { name = "main", kind = "burn", dependsOn = new[] { "warm-up" }, parameters = new { duration = "PT1S", threads = 1 }, estimatedPowerWatts = 5 },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using var started = await admin.PostAsJsonAsync("/api/v1/pipelines/two-burns/runs", new { });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "pipelines");
        await Assertions.Expect(page.GetByTestId("pipelines-table")).ToContainTextAsync("warm-up, main");
        await page.WaitForCircuitAsync();
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));

        await page.GetByRole(AriaRole.Link, new() { Name = "two-burns" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Pipeline two-burns", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("runs-table")).ToContainTextAsync(runId);
        await page.WaitForCircuitAsync();
        violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));

        await page.GetByRole(AriaRole.Link, new() { Name = runId }).ClickAsync();
        var graph = page.GetByTestId("run-graph");
        await Assertions.Expect(graph.Locator("[data-step]")).ToHaveCountAsync(2);
        await Assertions.Expect(graph.Locator(".eg-dag-edge")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("run-status")).ToContainTextAsync("succeeded", new() { Timeout = 120_000 });
        foreach (var step in new[] { "warm-up", "main" })
        {
            await Assertions.Expect(graph.Locator($"[data-step='{step}']")).ToContainTextAsync("succeeded");
            await Assertions.Expect(graph.Locator($"[data-step='{step}']")).ToContainTextAsync("attempt 1");
            await Assertions.Expect(page.GetByTestId("run-steps").Locator($"[data-step='{step}']")).ToContainTextAsync("succeeded");
        }

        await Assertions.Expect(graph).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("main succeeded after warm-up"));
        // The main step sits right of the step it depends on.
        var (warmUp, main) = (await graph.Locator("[data-step='warm-up'] rect").BoundingBoxAsync(), await graph.Locator("[data-step='main'] rect").BoundingBoxAsync());
        Assert.True(main!.X > warmUp!.X + warmUp.Width, $"main at x={main.X}, warm-up ends at {warmUp.X + warmUp.Width}");
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("pipeline-run");
        violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));

        // On a phone the graph and the tables scroll in their own boxes; the page itself stays as wide as the screen.
        var phone = await OpenAsync(phone: true);
        await phone.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), page.Url.Replace(_controlPlane.HttpUrl.ToString(), "", StringComparison.Ordinal));
        await Assertions.Expect(phone.GetByTestId("run-graph")).ToBeAttachedAsync();
        Assert.True(await phone.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the run page is wider than a phone");
        await phone.GotoAsync("jobs");
        await Assertions.Expect(phone.GetByTestId("jobs-table")).ToContainTextAsync("two-burns.main");
        await phone.ScreenshotAsync("jobs-phone");
        Assert.True(await phone.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the jobs page is wider than a phone");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    private async Task<IPage> OpenAsync(bool phone = false)
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl, TimeZone, phone);
        _pages.Add(page);
        return page;
    }

    /// <summary>A burn that may not start for three hours: it stays planned (pending) through a test.</summary>
    private async Task<string> SubmitFarAheadAsync(string name)
    {
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        var now = DateTimeOffset.UtcNow;
        using var response = await admin.PostAsJsonAsync("/api/v1/jobs", new
        {
            name,
            kind = "burn",
            parameters = new { duration = "PT2S", threads = 1 },
            earliestStart = now.AddHours(3),
            deadline = now.AddHours(6),
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {body}");
        Assert.NotEqual(JsonValueKind.Null, body.GetProperty("plannedStart").ValueKind);
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>An instant as a datetime-local input takes it, in <paramref name="zone"/>.</summary>
    private static string LocalInput(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
}
