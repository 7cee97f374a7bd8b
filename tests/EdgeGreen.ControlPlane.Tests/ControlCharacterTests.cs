using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>
/// Control characters in anything a REST caller sends are refused with 400 naming where they were,
/// before anything is stored: PostgreSQL's text cannot hold NUL, so they would otherwise be a 500 there.
/// </summary>
public sealed class ControlCharacterTests : ControlPlaneTest
{
    public static TheoryData<string, string, string?, string> Requests => new()
    {
        { "POST", "/api/v1/jobs", """{"name":"nightly\u0000burn","kind":"burn","parameters":{"duration":"PT1S"}}""", "$.name" },
        { "POST", "/api/v1/jobs", """{"name":"burn","kind":"burn","parameters":{"duration":"PT1S\u0007"}}""", "$.parameters.duration" },
        { "POST", "/api/v1/webhooks", """{"url":"https://example.com/\u001b[31m","events":["alias.moved"]}""", "$.url" },
        { "POST", "/api/v1/jobs", """{"name":"burn","kind":"burn","parameters":{"dura\u0000tion":"PT1S"}}""", "$.parameters" },
        { "POST", "/emissions/average-carbon-intensity/batch", """[{"location":"ES","startTime":"2026-01-01T00:00:00Z","endTime":"2026-01-02T00:00:00Z"},{"location":"E\u0001S"}]""", "$.location" },
        { "GET", "/api/v1/models/digits%01", null, "path" },
        { "GET", "/api/v1/jobs?status=running%00", null, "status" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Request_WithAControlCharacter_Is400NamingWhereAndStoresNothing(string method, string path, string? body, string field)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await AdminClient.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        // A key with a control character in it is named by the JSON path that reaches it.
        var error = Assert.Single(problem.GetProperty("errors").EnumerateObject(), e => e.Name.StartsWith(field, StringComparison.Ordinal));
        Assert.Contains("control characters", error.Value[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await AdminClient.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/jobs", UriKind.Relative))).GetArrayLength());
        Assert.Equal(0, (await AdminClient.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/webhooks", UriKind.Relative))).GetArrayLength());
    }

    [Fact]
    public async Task JsonText_WithTabsAndLineBreaks_IsAccepted()
    {
        using var response = await AdminClient.PostAsJsonAsync(new Uri("/api/v1/jobs", UriKind.Relative),
            new { name = "burn\twith a tab", kind = "burn", parameters = new { duration = "PT1S" } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
