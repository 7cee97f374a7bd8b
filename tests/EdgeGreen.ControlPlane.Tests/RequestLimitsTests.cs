using System.Net;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>
/// The REST rate limits and the Carbon Aware SDK routes' access. The limits refill one request
/// every 30 s here (2 a minute), so that no test depends on how fast this machine answers.
/// </summary>
public sealed class RequestLimitsTests
{
    private static readonly Dictionary<string, string?> Tight = new()
    {
        ["EdgeGreen:Limits:AnonymousRequestsPerMinute"] = "2",
        ["EdgeGreen:Limits:KeyedRequestsPerMinute"] = "2",
        ["EdgeGreen:Carbon:AnonymousSdkRoutes"] = "true",
    };

    [Fact]
    public async Task CarbonAwareSdkRoutes_ByDefault_NeedAViewerKey()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path);
        using var anonymous = controlPlane.CreateClient();
        using var viewer = controlPlane.CreateClient(controlPlane.AdminKey);

        foreach (var path in new[] { "/locations", "/emissions/bylocations?location=ES" })
        {
            using var refused = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var answered = await viewer.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
    }

    [Fact]
    public async Task AnonymousClient_ClaimingGrpcContentOnARestRoute_IsStillLimited()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: Tight);
        using var anonymous = controlPlane.CreateClient();

        async Task<HttpStatusCode> SendAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/locations", UriKind.Relative)) { Content = new ByteArrayContent([]) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
            using var response = await anonymous.SendAsync(request);
            return response.StatusCode;
        }

        Assert.NotEqual(HttpStatusCode.TooManyRequests, await SendAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, await SendAsync());
    }

    [Fact]
    public async Task AnonymousClient_BeyondItsRate_Gets429WithRetryAfterAndIsCounted()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: Tight);
        using var anonymous = controlPlane.CreateClient();

        using var first = await anonymous.GetAsync(new Uri("/locations", UriKind.Relative));
        using var second = await anonymous.GetAsync(new Uri("/locations", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.InRange(int.Parse(Assert.Single(second.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        // Probes and scrapes are never limited, and the refusal is counted.
        for (var i = 0; i < 5; i++)
        {
            using var live = await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        var metrics = await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("edgegreen_http_requests_rate_limited_total{client=\"anonymous\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_http_requests_rate_limited_total{client=\"credential\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_HaveBucketsOfTheirOwn_AndMadeUpKeysAreLimitedToo()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: Tight);
        using var anonymous = controlPlane.CreateClient();
        using var admin = controlPlane.CreateClient(controlPlane.AdminKey);
        using var madeUp = controlPlane.CreateClient("eg_not-a-key");

        using var spent = await anonymous.GetAsync(new Uri("/locations", UriKind.Relative));
        using var keyed = await admin.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
        using var keyedAgain = await admin.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
        using var wrong = await madeUp.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
        using var wrongAgain = await madeUp.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, spent.StatusCode);
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, keyedAgain.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, wrongAgain.StatusCode);
    }
}
