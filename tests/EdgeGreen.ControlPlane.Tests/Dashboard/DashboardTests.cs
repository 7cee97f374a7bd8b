using System.Net.Http.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Playwright;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>The dashboard in a real browser against a running control plane with its local agent.</summary>
public sealed class DashboardTests(Browser browser) : IClassFixture<Browser>, IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() => _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
    {
        // Circuits must outlive the REST time limit.
        ["EdgeGreen:Limits:RequestTimeout"] = "00:00:05",
    });

    public async Task DisposeAsync()
    {
        await browser.CloseAllAsync();
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }

    [RequiresProgramFact("chromium")]
    public async Task Overview_SignedInAsViewer_ShowsTheLocalAgentsPowerAndEachZonesForecast()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("fleet-power")).ToContainTextAsync("1 of 1 agents online");
        await Assertions.Expect(page.GetByTestId("fleet-power")).ToContainTextAsync(" W");
        foreach (var zone in new[] { "BR", "ES", "NO", "US-CAL-CISO" })
        {
            await Assertions.Expect(page.GetByTestId($"zone-{zone}")).ToContainTextAsync("g CO₂e/kWh");
        }

        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("overview");
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Overview_JobStartsAfterThePageOpened_AppearsWithoutReloading()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        await page.WaitForCircuitAsync();
        await page.EvaluateAsync("() => window.__sameDocument = true");
        await Assertions.Expect(page.GetByText("No job is running.")).ToBeVisibleAsync();

        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        using var submitted = await admin.PostAsJsonAsync("/api/v1/jobs", new { name = "live-burn", kind = "burn", parameters = new { duration = "PT30S", threads = 1 } });
        submitted.EnsureSuccessStatusCode();

        await Assertions.Expect(page.GetByTestId("running-jobs")).ToContainTextAsync("live-burn", new() { Timeout = 20_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was not reloaded");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Overview_NotSignedIn_GoesToSignInAndAnUnknownKeyIsRefused()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.GotoAsync("");
        await page.WaitForURLAsync("**/signin?ReturnUrl=%2F");
        await page.GetByLabel("API key").FillAsync("egk_not-a-key-of-this-control-plane");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not known");

        var cookies = await page.Context.CookiesAsync();
        Assert.DoesNotContain(cookies, c => c.Name == "EdgeGreen.Session");

        await page.GetByLabel("API key").FillAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "EdgeGreen.Session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
    }

    [RequiresProgramFact("chromium")]
    public async Task Session_CookieAlone_IsNotAnApiCredential()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Admin));
        var response = await page.APIRequest.GetAsync("api/v1/agents");
        Assert.Equal(401, response.Status);
    }

    [RequiresProgramFact("chromium")]
    public async Task Overview_NewReadings_UpdateTodaysEnergyWithinTwoSecondsWithoutReloading()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        await page.WaitForCircuitAsync();
        await page.EvaluateAsync("() => window.__sameDocument = true");
        var energy = page.GetByTestId("energy-today").Locator(".eg-figure");
        var before = await energy.InnerTextAsync();

        // The local agent samples every 200 ms and streams at once: the next readings raise today's energy.
        await Assertions.Expect(energy).Not.ToHaveTextAsync(before, new() { Timeout = 2_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was not reloaded");
    }

    [RequiresProgramFact("chromium")]
    public async Task Layout_DarkModeAndPhoneWidth_ThemeIsKeptAndNothingScrollsSideways()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl, phone: true);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        await page.WaitForCircuitAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the overview fits a phone's width");

        await page.GetByRole(AriaRole.Button, new() { Name = "Switch between light and dark" }).ClickAsync();
        await Assertions.Expect(page.Locator("link#radzen-theme-link")).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex("material-dark"));
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("link#radzen-theme-link")).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex("material-dark"));
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("overview-phone-dark");
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [RequiresProgramFact("chromium")]
    public async Task Layout_Keyboard_SkipLinkComesFirstAndTheMenuIsReachableByTab()
    {
        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        await page.WaitForCircuitAsync();

        Assert.Equal("Skip to content", await page.EvaluateAsync<string>(
            "() => document.querySelector('a[href], button, input, select, textarea, [tabindex]:not([tabindex=\"-1\"])').textContent.trim()"));
        await page.FocusAsync(".eg-skip");
        var reached = new List<string>();
        for (var i = 0; i < 12 && !reached.Contains("Agents"); i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => document.activeElement.textContent.trim()"));
        }

        Assert.Contains("Agents", reached);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Agents");
    }

    [RequiresProgramFact("chromium")]
    public async Task Agents_MoreThanAPageOfThem_AreShownAHundredAtATimeWithPageLinks()
    {
        var store = _controlPlane.Service<IAgentStore>();
        for (var i = 0; i < 150; i++)
        {
            await store.AddAsync(new AgentRecord($"fleet-{i:000}", $"fleet-{i:000}", "ES", new Dictionary<string, string>(), $"hash-{i}",
                DateTimeOffset.UtcNow, null, null), CancellationToken.None);
        }

        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "agents");
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Pages of agents" })).ToContainTextAsync("Agents 1–100 of 151");
        Assert.Equal(100, await page.GetByTestId("agents").Locator("tbody tr").CountAsync());

        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Pages of agents" })).ToContainTextAsync("Agents 101–151 of 151");
        Assert.Equal(51, await page.GetByTestId("agents").Locator("tbody tr").CountAsync());
    }
}
