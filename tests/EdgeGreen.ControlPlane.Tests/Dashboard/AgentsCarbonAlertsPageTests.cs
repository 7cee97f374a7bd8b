using System.Net.Http.Json;
using System.Text.RegularExpressions;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>The agents, agent, carbon and alerts pages in a real browser, against a control plane with its local agent.</summary>
public sealed class AgentsCarbonAlertsPageTests(Browser browser) : IClassFixture<Browser>, IAsyncLifetime
{
    private static readonly string[] BundledZones = ["BR", "ES", "NO", "US-CAL-CISO"];
    private readonly TempDirectory _temp = new();
    private readonly OpenCircuits _circuits = new();
    private readonly List<IPage> _pages = [];
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() => _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
    {
        // Circuits must outlive the REST time limit.
        ["EdgeGreen:Limits:RequestTimeout"] = "00:00:05",
        // An alert whose condition holds fires within a second rather than the default 30.
        ["EdgeGreen:Alerts:EvaluationInterval"] = "00:00:01",
    }, services: s => s.AddSingleton<CircuitHandler>(_circuits));

    /// <summary>
    /// Leaves every page (Blazor ends its circuit when the page unloads) and waits until the server
    /// has closed them before stopping it: a circuit still open at shutdown races the host's disposal
    /// in ASP.NET Core's circuit pausing, whose ObjectDisposedException goes unobserved.
    /// </summary>
    public async Task DisposeAsync()
    {
        foreach (var page in _pages)
        {
            await page.GotoAsync("about:blank");
            await page.Context.CloseAsync();
        }

        await Eventually.WaitUntilAsync(() => _circuits.Count == 0, TimeSpan.FromSeconds(30), () => $"{_circuits.Count} dashboard circuits closed");
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }

    private async Task<IPage> OpenAsync(bool phone = false)
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl, phone: phone);
        _pages.Add(page);
        return page;
    }

    [RequiresProgramFact("chromium")]
    public async Task Agents_SignedInAsViewer_ListsTheLocalAgentOnlineWithItsPower()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "agents");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Agents", Level = 1 })).ToBeVisibleAsync();
        var agents = page.GetByTestId("agents");
        await Assertions.Expect(agents.Locator("tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(agents).ToContainTextAsync("online");
        await Assertions.Expect(agents.Locator("tbody td.eg-num .eg-quantity").First).ToContainTextAsync(" W");
        await Assertions.Expect(agents).ToContainTextAsync("modelled");

        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("agents");
        await AssertAccessibleAsync(page);
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Agent_LocalAgent_ShowsPowerByDomainAndItsSensorsAsModelled()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "agents");
        await page.GetByTestId("agents").Locator("tbody tr a").First.ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Agent ");
        // This machine has no RAPL: the local agent models its CPU power, and says so.
        await Assertions.Expect(page.GetByTestId("sensors")).ToContainTextAsync("modelled");
        await Assertions.Expect(page.GetByTestId("power-chart")).ToContainTextAsync("modelled");
        // The first readings arrive within seconds and the page redraws on them.
        await Assertions.Expect(page.GetByTestId("power-chart").Locator(".rz-line-series path").First).ToBeAttachedAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("power-chart").Locator("[role=img]")).ToHaveAttributeAsync("aria-label", new Regex(@"\(modelled\) from .* W"));

        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("agent");
        await AssertAccessibleAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Last 24 hours" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Last 24 hours" })).ToHaveAttributeAsync("aria-current", "page");
        await Assertions.Expect(page.GetByTestId("power-chart")).ToContainTextAsync("one point per 15 min");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Agent_UnknownId_SaysSoAndWhereToLook()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "agents/no-such-agent");

        await Assertions.Expect(page.GetByText("No such agent")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".eg-empty")).ToContainTextAsync("no-such-agent");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Carbon_ShowsEveryBundledZoneAndTheForecastsMeasuredError()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "carbon");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Carbon intensity", Level = 1 })).ToBeVisibleAsync();
        foreach (var zone in BundledZones)
        {
            await Assertions.Expect(page.GetByTestId($"zone-{zone}")).ToContainTextAsync("g CO₂e/kWh");
        }

        await Assertions.Expect(page.GetByTestId("forecast-mae")).ToContainTextAsync("g CO₂e/kWh");
        await Assertions.Expect(page.GetByTestId("forecast-mape")).ToContainTextAsync("%");
        await Assertions.Expect(page.GetByTestId("forecast-error").Locator("xpath=following-sibling::p[1]")).ToContainTextAsync("hours compared from 7 forecasts");
        await Assertions.Expect(page.GetByTestId("zone-chart").Locator(".rz-line-series path")).ToHaveCountAsync(2);

        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("carbon");
        await AssertAccessibleAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "ES", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 2, Name = "ES: the last 48 hours and the next 24" })).ToBeVisibleAsync();
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Alerts_RuleCreatedThroughRest_IsListedWithoutItsSecrets()
    {
        const string WebhookSecret = "s3cret-webhook-signing-key-0001";
        const string SlackToken = "T000/B000/XXXXslacktokenXXXX";
        const string RoutingKey = "0123456789abcdef0123456789abcdef";
        using var operatorClient = _controlPlane.CreateClient(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        using (var created = await operatorClient.PostAsJsonAsync("/api/v1/alert-rules", new
        {
            name = "clean-grid-only",
            condition = new { gridIntensity = new { zone = "NO", aboveGramsPerKwh = 100_000 } },
            @for = "PT5M",
            severity = "critical",
            notify = new object[]
            {
                new { webhook = new { url = "https://hooks.example.com/edgegreen?token=abc", secret = WebhookSecret } },
                new { slack = new { url = $"https://hooks.slack.com/services/{SlackToken}" } },
                new { pagerduty = new { routingKey = RoutingKey } },
            },
        }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        // Any intensity is above zero: this one fires at the next evaluation, and notifies no one.
        using (var firing = await operatorClient.PostAsJsonAsync("/api/v1/alert-rules", new
        {
            name = "any-grid",
            condition = new { gridIntensity = new { zone = "ES", aboveGramsPerKwh = 0 } },
        }))
        {
            Assert.True(firing.IsSuccessStatusCode, await firing.Content.ReadAsStringAsync());
        }

        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "alerts");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Alerts", Level = 1 })).ToBeVisibleAsync();
        var rule = page.GetByTestId("rule-clean-grid-only");
        await Assertions.Expect(rule).ToContainTextAsync("grid intensity of NO above");
        await Assertions.Expect(rule).ToContainTextAsync("critical");
        await Assertions.Expect(rule).ToContainTextAsync("webhook: hooks.example.com");
        await Assertions.Expect(rule).ToContainTextAsync("slack: hooks.slack.com");
        await Assertions.Expect(rule).ToContainTextAsync("pagerduty");
        await Assertions.Expect(page.GetByTestId("alert-any-grid")).ToContainTextAsync("firing", new() { Timeout = 30_000 });

        await page.WaitForCircuitAsync();
        var html = await page.ContentAsync();
        foreach (var secret in new[] { WebhookSecret, SlackToken, "T000", RoutingKey, "token=abc" })
        {
            Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
        }

        await page.ScreenshotAsync("alerts");
        await AssertAccessibleAsync(page);
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Alerts_NoRules_SaysHowToCreateOne()
    {
        var page = await OpenAsync();
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "alerts");

        await Assertions.Expect(page.GetByText("No alert rules", new() { Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".eg-empty").Last).ToContainTextAsync("POST /api/v1/alert-rules");
        await Assertions.Expect(page.Locator(".eg-empty").Last).ToContainTextAsync("docs/alerts.md");
    }

    [RequiresProgramFact("chromium")]
    public async Task Agents_OnAPhone_DoesNotScrollSideways()
    {
        var page = await OpenAsync(phone: true);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "agents");
        await Assertions.Expect(page.GetByTestId("agents")).ToContainTextAsync("online");
        await page.WaitForCircuitAsync();

        await page.ScreenshotAsync("agents-phone");
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"),
            $"the page is {await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")} px wide on a 390 px phone");
    }

    private static async Task AssertAccessibleAsync(IPage page)
    {
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    /// <summary>Counts the server's open dashboard circuits.</summary>
    private sealed class OpenCircuits : CircuitHandler
    {
        private int _open;

        public int Count => Volatile.Read(ref _open);

        public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _open);
            return Task.CompletedTask;
        }

        public override Task OnCircuitClosedAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            Interlocked.Decrement(ref _open);
            return Task.CompletedTask;
        }
    }
}
