using System.Net;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>How the dashboard is served, over plain HTTP (no browser needed).</summary>
public sealed class DashboardHostingTests
{
    [Fact]
    public async Task Root_NotSignedIn_RedirectsToSignInAndTheSignInPageLoadsItsScripts()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = controlPlane.HttpUrl };

        using var root = await http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/signin", root.Headers.Location!.AbsolutePath);

        var signIn = await http.GetStringAsync(new Uri("/signin", UriKind.Relative));
        Assert.Contains("__RequestVerificationToken", signIn, StringComparison.Ordinal);
        foreach (var script in new[] { "/_framework/blazor.web.js", "/_content/Radzen.Blazor/Radzen.Blazor.js" })
        {
            using var response = await http.GetAsync(new Uri(script, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 10_000, $"{script} is served whole");
        }
    }

    [Fact]
    public async Task SignIn_PostWithoutAntiforgeryToken_IsRefusedAndSetsNoSession()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = controlPlane.HttpUrl };

        using var response = await http.PostAsync(new Uri("/signin", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["Input.Key"] = controlPlane.AdminKey,
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("EdgeGreen.Session", StringComparison.Ordinal)));
        controlPlane.Errors.Expect("antiforgery");
    }

    [Fact]
    public async Task Root_DashboardDisabled_IsNotFound()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: new Dictionary<string, string?> { ["EdgeGreen:Dashboard:Enabled"] = "false" });
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = controlPlane.HttpUrl };

        using var response = await http.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("/.//evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("http://evil.example/")]
    [InlineData("/\\evil.example/")]
    public async Task SignIn_ReturnUrlNamingAnotherHost_LandsOnTheDashboardInstead(string returnUrl)
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = controlPlane.HttpUrl };
        var path = "/signin?ReturnUrl=" + Uri.EscapeDataString(returnUrl);
        var form = await http.GetStringAsync(new Uri(path, UriKind.Relative));
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;

        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["__RequestVerificationToken"] = token,
            ["Input.Key"] = controlPlane.AdminKey,
        }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var target = new Uri(controlPlane.HttpUrl, response.Headers.Location!);
        Assert.Equal(controlPlane.HttpUrl.Authority, target.Authority);
    }

    [Fact]
    public async Task Circuit_OpenedFromAnotherOrigin_IsRefused()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path);
        using var http = new HttpClient { BaseAddress = controlPlane.HttpUrl };

        async Task<HttpStatusCode> NegotiateAsync(string? origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/_blazor/negotiate?negotiateVersion=1", UriKind.Relative));
            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, await NegotiateAsync($"http://127.0.0.1:{controlPlane.HttpUrl.Port + 1}"));
        Assert.Equal(HttpStatusCode.Forbidden, await NegotiateAsync("http://evil.example"));
        Assert.NotEqual(HttpStatusCode.Forbidden, await NegotiateAsync(controlPlane.HttpUrl.GetLeftPart(UriPartial.Authority)));
    }
}
