using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Playwright;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>
/// The models, model, deployment and experiment pages in a real browser against a control plane
/// with its local agent: versions registered and deployed through the REST API, signed in as a viewer.
/// </summary>
public sealed class ModelsDeploymentsPageTests(Browser browser) : IClassFixture<Browser>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
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
    public async Task Models_ThreeVersions_ListsTheLatestWithItsFigures_AndTheModelPageComparesThemWithTheParetoFront()
    {
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await RegisterMnistVersionsAsync(admin);
        using (var alias = await admin.PutAsJsonAsync("/api/v1/models/mnist/aliases/champion", new { version = 2 }))
        {
            alias.EnsureSuccessStatusCode();
        }

        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "models");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Models", Level = 1 })).ToBeVisibleAsync();
        var row = page.GetByTestId("model-mnist");
        await Assertions.Expect(row).ToContainTextAsync("champion → v2");
        await Assertions.Expect(row.Locator("td").Nth(1)).ToHaveTextAsync("3");
        await Assertions.Expect(row).ToContainTextAsync("accuracy 0.93");
        await Assertions.Expect(row).ToContainTextAsync("0.5 g CO₂e");
        await Assertions.Expect(row).ToContainTextAsync("not measured"); // v3 has no serving profile, so no SCI
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("models");
        await AssertAccessibleAsync(page);

        // The model page: every version, and quality against serving energy and training carbon.
        await row.GetByRole(AriaRole.Link, new() { Name = "mnist" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Model mnist", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("versions").Locator("tbody tr")).ToHaveCountAsync(3);
        await Assertions.Expect(page.GetByTestId("version-2")).ToContainTextAsync("champion");
        await Assertions.Expect(page.GetByTestId("version-2")).ToContainTextAsync("25 J");
        await Assertions.Expect(page.GetByTestId("version-1")).ToContainTextAsync("credit-sample@4 (fasttree)");

        // Accuracy (higher is better): version 2 is cheaper to serve than 1 and better, so it alone is the front; 3 was never profiled.
        await Assertions.Expect(page.GetByLabel("Quality metric")).ToHaveValueAsync("accuracy");
        await Assertions.Expect(page.GetByTestId("front-energy")).ToContainTextAsync("Pareto front: v2 (");
        await Assertions.Expect(page.GetByTestId("front-energy")).Not.ToContainTextAsync("v1");
        await Assertions.Expect(page.GetByTestId("unmeasured-energy")).ToHaveTextAsync("Not measured (no profile job): v3");

        // Training carbon: version 3 beats 1 on both, 2 is the most accurate.
        await Assertions.Expect(page.GetByTestId("front-carbon")).ToContainTextAsync("Pareto front: v3 (");
        await Assertions.Expect(page.GetByTestId("front-carbon")).ToContainTextAsync("v2 (");
        await Assertions.Expect(page.GetByTestId("front-carbon")).Not.ToContainTextAsync("v1");
        await Assertions.Expect(page.GetByTestId("compare-carbon").Locator(".rz-chart")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("Pareto front: v3, v2"));

        // Log-loss, lower is better: version 1 has the least and is cheapest to train of those with one.
        await page.WaitForCircuitAsync();
        await page.GetByLabel("Quality metric").SelectOptionAsync("logLoss");
        await Assertions.Expect(page.GetByTestId("front-carbon")).ToContainTextAsync("Pareto front: v1 (logLoss 0.2");
        await Assertions.Expect(page.GetByTestId("unmeasured-carbon")).ToHaveTextAsync("Not measured (no training carbon): v3");
        await page.GetByLabel("Quality metric").SelectOptionAsync("accuracy");
        await Assertions.Expect(page.GetByTestId("front-carbon")).ToContainTextAsync("Pareto front: v3 (");

        var screenshot = await page.ScreenshotAsync("model");

        // The layout scrolls inside its body, below the page's first screen: the comparison on its own.
        await page.GetByTestId("comparison").ScreenshotAsync(new() { Path = Path.Combine(Path.GetDirectoryName(screenshot)!, "model-comparison.png") });
        await AssertAccessibleAsync(page);

        // On a phone the page scrolls down, not sideways (wide tables scroll in their own box).
        var phone = await browser.OpenAsync(_controlPlane.HttpUrl, phone: true);
        await phone.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "models/mnist");
        await Assertions.Expect(phone.GetByTestId("front-carbon")).ToBeVisibleAsync();
        await phone.WaitForCircuitAsync();
        await phone.ScreenshotAsync("model-phone");
        Assert.True(await phone.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the model page is wider than a phone");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    [RequiresProgramFact("chromium")]
    public async Task Deployment_OnTheLocalAgent_ShowsTheVersionItServesItsRequests_AndItsExperimentsPageShowsTheArms()
    {
        using var admin = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await RegisterMnistVersionsAsync(admin);
        var agentId = await LocalAgentIdAsync(admin);
        using (var put = await admin.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var page = await browser.OpenAsync(_controlPlane.HttpUrl);
        await page.SignInAsync(await _controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer), "deployments");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Deployments and experiments", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("deployment-digits")).ToContainTextAsync("models:/mnist/1");
        await Assertions.Expect(page.GetByTestId("deployment-digits")).ToContainTextAsync($"agent {agentId}");
        await Assertions.Expect(page.GetByText("No experiment yet")).ToBeVisibleAsync();
        await AssertAccessibleAsync(page);

        // The page is live: once the agent serves it, a request it answers shows without reloading.
        await page.GetByRole(AriaRole.Link, new() { Name = "digits" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Deployment digits", Level = 1 })).ToBeVisibleAsync();
        await page.WaitForCircuitAsync();
        await page.EvaluateAsync("() => window.__sameDocument = true");
        var agentRow = page.GetByTestId($"agent-{agentId}");
        await Assertions.Expect(agentRow).ToContainTextAsync("serving", new() { Timeout = 60_000 });
        await Eventually.WaitUntilAsync(async () =>
        {
            using var inferred = await admin.PostAsJsonAsync("/v2/models/digits/infer", DigitRequest());
            return inferred.IsSuccessStatusCode;
        }, Patience, "the local agent answers the deployment");
        await Assertions.Expect(agentRow.Locator("td").Nth(1)).ToHaveTextAsync("v1");
        await Assertions.Expect(agentRow.Locator("td").Nth(3)).Not.ToHaveTextAsync("0", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("deployment-status")).ToContainTextAsync("healthy");
        await Assertions.Expect(page.GetByTestId("deployment-versions")).ToContainTextAsync("v1 (current)");
        await Assertions.Expect(page.GetByTestId("deployment-history")).ToContainTextAsync("created");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was not reloaded");
        await page.ScreenshotAsync("deployment");
        await AssertAccessibleAsync(page);

        // An experiment between versions 1 and 2: no traffic measured yet, so it continues.
        using (var started = await admin.PostAsJsonAsync("/api/v1/experiments", new
        {
            name = "digits-ab", deployment = "digits", control = "models:/mnist/1", treatment = "models:/mnist/2", trafficPercent = 50,
            metric = new { source = "prediction", kind = "mean" }, minimumDetectableEffect = 0.1,
        }))
        {
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        }

        await Assertions.Expect(page.GetByTestId("deployment-history")).ToContainTextAsync("experiment-started");
        await page.GetByTestId("deployment-experiments").GetByRole(AriaRole.Link, new() { Name = "digits-ab" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Experiment digits-ab", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("experiment-status")).ToContainTextAsync("running");
        await Assertions.Expect(page.GetByTestId("experiment-decision")).ToContainTextAsync("continue");
        await Assertions.Expect(page.GetByTestId("variant-control")).ToContainTextAsync("mnist v1");
        await Assertions.Expect(page.GetByTestId("variant-treatment")).ToContainTextAsync("mnist v2");
        await Assertions.Expect(page.GetByTestId("experiment-intervals").Locator("svg[role='img']")).ToHaveCountAsync(2);
        await page.WaitForCircuitAsync();
        await page.ScreenshotAsync("experiment");
        await AssertAccessibleAsync(page);

        await page.GotoAsync("deployments");
        await Assertions.Expect(page.GetByTestId("experiment-digits-ab")).ToContainTextAsync("continue");
        _controlPlane.Errors.AssertNoneUnexpected();
    }

    /// <summary>
    /// Three uploads of the MNIST network as versions 1 to 3 of <c>mnist</c>, then the figures a
    /// <c>train</c> job and a <c>profile</c> job would have recorded on each, written to the store the
    /// registry keeps them in (uploads carry none, and training and profiling for real take minutes).
    /// Version 3 was never profiled.
    /// </summary>
    private async Task RegisterMnistVersionsAsync(HttpClient admin)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        for (var i = 0; i < 3; i++)
        {
            using var registered = await admin.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(bytes));
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var store = _controlPlane.Service<IModelStore>();
        (int Version, double Accuracy, double LogLoss, double? Carbon, double? ServingJoules)[] figures =
        [
            (1, 0.91, 0.20, 0.8, 40),
            (2, 0.95, 0.25, 1.6, 25),
            (3, 0.93, double.NaN, 0.5, null),
        ];
        foreach (var (number, accuracy, logLoss, carbon, serving) in figures)
        {
            var version = (await store.GetVersionAsync("mnist", number, CancellationToken.None))!;
            var metrics = new Dictionary<string, double> { ["accuracy"] = accuracy, ["rows"] = 2000 };
            if (double.IsFinite(logLoss))
            {
                metrics["logLoss"] = logLoss;
            }

            Assert.True(await store.UpdateVersionAsync(version with
            {
                Metrics = metrics,
                Lineage = version.Lineage with { Dataset = "credit-sample", DatasetVersion = 4, Trainer = "fasttree" },
                Sustainability = new ModelSustainability(carbon * 4500, carbon, 222, serving is { } joules ? joules / 3.6e6 * 222 : null),
                Serving = serving is { } j ? new ServingProfile("job-1", null, DateTimeOffset.UtcNow, new ServingMeasurement(1, 1, 900, 1, 2, j), []) : null,
            }, CancellationToken.None));
        }
    }

    private static async Task<string> LocalAgentIdAsync(HttpClient client)
    {
        var agentId = "";
        await Eventually.WaitUntilAsync(async () =>
        {
            var online = (await client.GetFromJsonAsync<JsonElement>("/api/v1/agents")).EnumerateArray().FirstOrDefault(a => a.GetProperty("status").GetString() == "online");
            agentId = online.ValueKind == JsonValueKind.Object ? online.GetProperty("id").GetString()! : "";
            return agentId.Length > 0;
        }, Patience, "the local agent is online");
        return agentId;
    }

    private static object DigitRequest() => new
    {
        id = "request-1",
        inputs = new[] { new { name = "Input3", datatype = "FP32", shape = new[] { 1, 1, 28, 28 }, data = new float[28 * 28] } },
    };

    private static async Task AssertAccessibleAsync(IPage page)
    {
        var violations = await page.SeriousAccessibilityViolationsAsync();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }
}
