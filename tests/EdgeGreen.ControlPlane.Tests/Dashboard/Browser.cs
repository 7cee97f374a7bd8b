using System.Text.Json;
using Microsoft.Playwright;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>
/// Headless Chromium from the OS package (tests/run.sh installs it), driven by Playwright: its own
/// browser download is not reachable here, so Playwright is pointed at the installed executable.
/// One browser per test class; each test opens its own context (cookies, time zone).
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];
    private IPlaywright? _playwright;

    public IBrowser Chromium { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (ExternalProgram.SkipReason("chromium") is not null)
        {
            return;
        }

        // A busy CI machine answers a click over the circuit in more than Playwright's default 5 s.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExternalProgram.Require("chromium"),
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh context (no cookies) in <paramref name="timeZone"/>, at a desktop or a phone's size.</summary>
    public async Task<IPage> OpenAsync(Uri baseUrl, string timeZone = "Europe/Madrid", bool phone = false, bool dark = false)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            TimezoneId = timeZone,
            Locale = "en-GB",
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1366, Height = 900 },
            IsMobile = phone,
            ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light,
        });
        context.SetDefaultTimeout(30_000);
        lock (_contexts)
        {
            _contexts.Add(context);
        }

        return await context.NewPageAsync();
    }

    /// <summary>Closes every page opened so far, so that their circuits end before the control plane they talk to stops.</summary>
    public async Task CloseAllAsync()
    {
        IBrowserContext[] open;
        lock (_contexts)
        {
            open = [.. _contexts];
            _contexts.Clear();
        }

        foreach (var context in open)
        {
            await context.CloseAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>What the dashboard tests do in a page: sign in, check accessibility, keep a screenshot.</summary>
internal static class DashboardPage
{
    /// <summary>Signs in through the sign-in form with <paramref name="apiKey"/> and waits for the overview.</summary>
    public static async Task SignInAsync(this IPage page, string apiKey, string path = "")
    {
        await page.GotoAsync(path);
        await page.WaitForURLAsync("**/signin**");
        await page.GetByLabel("API key").FillAsync(apiKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("/signin", StringComparison.Ordinal));
    }

    /// <summary>Waits until the page is interactive (its Blazor circuit is up), so that live updates can reach it.</summary>
    public static async Task WaitForCircuitAsync(this IPage page) =>
        await page.Locator("html[data-interactive='true']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

    /// <summary>
    /// Runs axe-core (the npm package tests/run.sh installs) on the page: WCAG 2.1 A and AA and best
    /// practices; returns the serious and critical violations, each as "rule: what (n nodes: selectors)".
    /// </summary>
    public static async Task<IReadOnlyList<string>> SeriousAccessibilityViolationsAsync(this IPage page)
    {
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = AxeScript() });
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
              return JSON.stringify(result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id}: ${v.help} (${v.nodes.length} nodes: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')})`));
            }
            """);
        return JsonSerializer.Deserialize<string[]>(json)!;
    }

    /// <summary>
    /// Saves a screenshot of the whole page under TestResults/dashboard of the test project, as the
    /// run's artefact, once every chart on the page has drawn (charts measure themselves in the
    /// browser). Radzen's layout scrolls its body rather than the document, so the viewport is made
    /// as tall as the content for the shot, then put back.
    /// </summary>
    public static async Task<string> ScreenshotAsync(this IPage page, string name)
    {
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.rz-chart')].every(c => c.querySelector('svg g'))");
        var directory = Path.Combine(RepositoryRoot(), "tests", "EdgeGreen.ControlPlane.Tests", "TestResults", "dashboard");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        var viewport = page.ViewportSize!;
        var height = await page.EvaluateAsync<int>(
            "() => { const main = document.getElementById('main'); return main ? Math.ceil(main.getBoundingClientRect().top + main.scrollHeight) : 0; }");
        if (height + 16 > viewport.Height)
        {
            await page.SetViewportSizeAsync(viewport.Width, height + 16);
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        await page.SetViewportSizeAsync(viewport.Width, viewport.Height);
        return path;
    }

    private static string AxeScript()
    {
        var path = Path.Combine(RepositoryRoot(), "tests", ".tools", "node_modules", "axe-core", "axe.min.js");
        return File.Exists(path) ? path : throw new InvalidOperationException($"axe-core is not installed at {path}; tests/run.sh installs it.");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeGreen.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (EdgeGreen.sln) is not above the test binaries.");
    }
}
