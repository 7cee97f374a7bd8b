using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace EdgeGreen.ControlPlane.Tests.Webhooks;

/// <summary>With the default settings, webhooks reach no internal address: not at registration, not at delivery.</summary>
public sealed class WebhookOutboundTests : ControlPlaneTest
{
    [Theory]
    [InlineData("http://127.0.0.1:9/h", "loopback")]
    [InlineData("http://0x7f000001/h", "loopback")]
    [InlineData("http://[::1]/h", "loopback")]
    [InlineData("http://[::ffff:127.0.0.1]/h", "loopback")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://10.0.0.7/h", "private")]
    [InlineData("http://100.64.0.1/h", "CGNAT")]
    [InlineData("http://[fd12::1]/h", "unique local")]
    [InlineData("http://0.0.0.0/h", "unspecified")]
    [InlineData("http://255.255.255.255/h", "broadcast")]
    [InlineData("http://hooks.example.com/h\r\nX-Injected: 1", "control characters")]
    [InlineData("http://user:password@hooks.example.com/h", "user name or password")]
    [InlineData("file:///etc/passwd", "http or https")]
    [InlineData("gopher://hooks.example.com/h", "http or https")]
    public async Task Create_InternalOrMalformedUrl_Is400NamingTheProblem(string url, string problem)
    {
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);

        using var response = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url, events = new[] { "alias.moved" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("url")[0].GetString();
        Assert.Contains(problem, message, StringComparison.Ordinal);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/v1/webhooks")).GetArrayLength());
    }

    [Fact]
    public async Task Create_UrlLongerThan2048Characters_Is400()
    {
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);
        var url = "https://hooks.example.com/" + new string('a', 2048);

        using var response = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url, events = new[] { "alias.moved" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 2048 characters", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A webhook stored before these checks (or under an AllowedNetworks since narrowed), or a name
    /// that resolves to loopback: the delivery is refused as it connects, nothing reaches the subscriber.
    /// </summary>
    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("0x7f000001")]
    [InlineData("[::1]")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task Deliver_TargetThatIsLoopback_IsRecordedRefusedAndNothingIsSent(string host)
    {
        await using var subscriber = await StubServer.StartAsync(routes => routes.MapPost("/hook", () => Results.Ok()));
        await ControlPlane.Service<IWebhookStore>().AddAsync(new WebhookRecord("whk_internal", $"http://{host}:{subscriber.Url.Port}/hook", ["alias.moved"],
            "whsec_test", DateTimeOffset.UnixEpoch), CancellationToken.None);

        ControlPlane.Service<WebhookDispatcher>().Publish("alias.moved", new { model = "digits", alias = "champion", version = 1 });

        await Eventually.WaitUntilAsync(async () => await DeliveriesAsync("refused") == 1, TimeSpan.FromSeconds(10), "the delivery is counted as refused");
        Assert.Empty(subscriber.Requests);
        Assert.Equal(0d, await DeliveriesAsync("delivered") + await DeliveriesAsync("failed"));
    }

    private async Task<double> DeliveriesAsync(string outcome)
    {
        using var stream = new MemoryStream();
        await ControlPlane.Service<CollectorRegistry>().CollectAndExportAsTextAsync(stream);
        var prefix = $"edgegreen_webhook_deliveries_total{{outcome=\"{outcome}\"}} ";
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
