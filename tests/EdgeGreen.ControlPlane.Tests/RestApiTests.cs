using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests;

public sealed class RestApiTests : ControlPlaneTest
{
    [Theory]
    [InlineData("GET", "/api/v1/agents")]
    [InlineData("GET", "/api/v1/fleet/summary")]
    [InlineData("POST", "/api/v1/enrollment-tokens")]
    public async Task Route_WithoutKey_Returns401ProblemDetails(string method, string path)
    {
        using var http = ControlPlane.CreateClient();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Route_WithUnknownKey_Returns401()
    {
        using var http = ControlPlane.CreateClient("egk_unknown");

        using var response = await http.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData(ApiKeyRole.Viewer)]
    [InlineData(ApiKeyRole.Operator)]
    public async Task AdminRoute_WithLesserRole_Returns403(ApiKeyRole role)
    {
        using var http = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(role));

        using var tokens = await http.PostAsync(new Uri("/api/v1/enrollment-tokens", UriKind.Relative), null);
        using var keys = await http.PostAsJsonAsync(new Uri("/api/v1/api-keys", UriKind.Relative), new { name = "x", role = "admin" });

        Assert.Equal(HttpStatusCode.Forbidden, tokens.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, keys.StatusCode);
    }

    [Fact]
    public async Task ViewerKey_ReadsAgentsAndFleet()
    {
        using var http = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        Assert.Equal("[]", await http.GetStringAsync(new Uri("/api/v1/agents", UriKind.Relative)));
        var summary = await http.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/fleet/summary", UriKind.Relative));
        Assert.Equal(0, summary.GetProperty("agents").GetInt32());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task BootstrapAdminKey_FileIsPrivateAndMintsUsableTokensAndKeys()
    {
        var mode = File.GetUnixFileMode(Path.Combine(ControlPlane.DataDirectory, "admin.key"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);

        using var tokenResponse = await admin.PostAsync(new Uri("/api/v1/enrollment-tokens", UriKind.Relative), null);
        var token = await tokenResponse.Content.ReadFromJsonAsync<JsonElement>();
        using var keyResponse = await admin.PostAsJsonAsync(new Uri("/api/v1/api-keys", UriKind.Relative), new { name = "dashboard", role = "viewer" });
        var key = await keyResponse.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, tokenResponse.StatusCode);
        Assert.StartsWith("egt_", token.GetProperty("token").GetString(), StringComparison.Ordinal);
        Assert.True(token.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.Created, keyResponse.StatusCode);
        Assert.Equal("viewer", key.GetProperty("role").GetString());
        using var viewer = ControlPlane.CreateClient(key.GetProperty("key").GetString());
        using var read = await viewer.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"role\":\"superuser\"}", "role")]
    [InlineData("{\"name\":\"x\",\"role\":\"1\"}", "role")]
    [InlineData("{\"name\":\"x\",\"role\":\"+2\"}", "role")]
    [InlineData("{\"name\":\"x\",\"role\":\"Viewer,Admin\"}", "role")]
    [InlineData("{\"name\":\"x\",\"role\":\"viewer, operator\"}", "role")]
    [InlineData("{\"name\":\"x\",\"role\":\" admin\"}", "role")]
    [InlineData("{\"name\":\"\",\"role\":\"viewer\"}", "name")]
    public async Task CreateApiKey_BadRequest_Returns400NamingTheFieldAndStoresNothing(string body, string field)
    {
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);
        var keysBefore = (await ControlPlane.Service<IAccessStore>().ListApiKeysAsync(CancellationToken.None)).Count;

        using var response = await admin.PostAsync(new Uri("/api/v1/api-keys", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages));
        if (field == "role")
        {
            Assert.Contains("viewer, operator, admin", messages[0].GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(keysBefore, (await ControlPlane.Service<IAccessStore>().ListApiKeysAsync(CancellationToken.None)).Count);
    }

    [Theory]
    [InlineData("OPERATOR", "operator")]
    [InlineData("Admin", "admin")]
    public async Task CreateApiKey_RoleInAnyCase_MintsThatRole(string role, string expected)
    {
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);

        using var response = await admin.PostAsJsonAsync(new Uri("/api/v1/api-keys", UriKind.Relative), new { name = "x", role });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("role").GetString());
    }

    [Fact]
    public async Task Readings_DownsamplesEnergyAndPowerPerStep()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var start = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, 0, 0, 0, TimeSpan.Zero).AddDays(-1);
        var readings = Enumerable.Range(1, 120).SelectMany(i => new[]
        {
            Reading((ulong)(2 * i) - 1, start.AddSeconds(i), "cpu.package", 10),
            Reading((ulong)(2 * i), start.AddSeconds(i), "gpu0", 30),
        }).ToArray();
        await agent.SendAsync(RawAgent.Batch(readings));
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        var query = $"from={Uri.EscapeDataString(start.ToString("O"))}&to={Uri.EscapeDataString(start.AddMinutes(5).ToString("O"))}";

        var all = await viewer.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/agents/{agent.AgentId}/readings?{query}&step=PT1M", UriKind.Relative));
        var gpu = await viewer.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/agents/{agent.AgentId}/readings?{query}&step=PT1M&domain=gpu0", UriKind.Relative));

        var points = all.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(3, points.Count); // readings end at 00:00:01 .. 00:02:00: minutes 0, 1 and 2
        Assert.Equal(start, points[0].GetProperty("time").GetDateTimeOffset());
        Assert.Equal(59 * 40.0, points[0].GetProperty("energyJoules").GetDouble(), 6);
        Assert.Equal(40.0, points[1].GetProperty("powerWatts").GetDouble(), 6);
        Assert.Equal(120 * 40.0, points.Sum(p => p.GetProperty("energyJoules").GetDouble()), 6);
        Assert.Equal(30.0, gpu.GetProperty("points")[1].GetProperty("powerWatts").GetDouble(), 6);
    }

    [Theory]
    [InlineData("step=PT0S")]
    [InlineData("step=banana")]
    [InlineData("step=PT1S&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z")]
    [InlineData("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")]
    public async Task Readings_BadQuery_Returns400(string query)
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        using var response = await viewer.GetAsync(new Uri($"/api/v1/agents/{agent.AgentId}/readings?{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task SetZone_OperatorOverridesReportedZone_ViewerMayNot_UnknownZoneRefused()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        using var operatorClient = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        var path = new Uri($"/api/v1/agents/{agent.AgentId}/zone", UriKind.Relative);

        using var forbidden = await viewer.PutAsJsonAsync(path, new { zone = "NO" });
        using var unknown = await operatorClient.PutAsJsonAsync(path, new { zone = "XX" });
        using var set = await operatorClient.PutAsJsonAsync(path, new { zone = "NO" });
        var afterSet = await viewer.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/agents/{agent.AgentId}", UriKind.Relative));
        using var cleared = await operatorClient.PutAsJsonAsync(path, new { zone = (string?)null });
        var afterClear = await cleared.Content.ReadFromJsonAsync<JsonElement>();
        using var missing = await operatorClient.PutAsJsonAsync(new Uri("/api/v1/agents/ffffffffffffffffffffffff/zone", UriKind.Relative), new { zone = "NO" });

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("NO", afterSet.GetProperty("zone").GetString());
        Assert.Equal("ES", afterClear.GetProperty("zone").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task UnknownAgent_Returns404ProblemDetails()
    {
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        using var agent = await viewer.GetAsync(new Uri("/api/v1/agents/ffffffffffffffffffffffff", UriKind.Relative));
        using var readings = await viewer.GetAsync(new Uri("/api/v1/agents/ffffffffffffffffffffffff/readings", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, agent.StatusCode);
        Assert.Equal("application/problem+json", agent.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, readings.StatusCode);
    }

    [Fact]
    public async Task OpenApiAndHealth_ServedWithoutKey()
    {
        using var http = ControlPlane.CreateClient();

        var document = await http.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.True(document.GetProperty("paths").TryGetProperty("/api/v1/agents/{id}/readings", out _));
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        Assert.Contains("edgegreen_ingest_readings_stored_total", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
    }

    private static Contracts.V1.Reading Reading(ulong sequence, DateTimeOffset time, string domain, double energyJoules)
    {
        var reading = RawAgent.Valid(sequence, energyJoules);
        reading.Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(time);
        reading.Domain = domain;
        return reading;
    }
}
