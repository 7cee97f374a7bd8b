using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>Every route that takes an instant refuses one outside <see cref="Instants"/> with 400 naming it, never 500.</summary>
public sealed class ImplausibleInstantsTests : ControlPlaneTest
{
    private const string YearOne = "0001-01-01T00:00:00Z";
    private const string Year9999 = "9999-12-31T23:59:59Z";

    public static TheoryData<string, string, string?, string> Requests => new()
    {
        // The Carbon Aware SDK's routes, open to anyone.
        { "GET", $"/emissions/bylocations?location=ES&time={YearOne}", null, "time" },
        { "GET", $"/emissions/bylocation?location=ES&toTime={Year9999}", null, "toTime" },
        { "GET", $"/emissions/bylocations/best?location=ES&time={YearOne}&toTime={Year9999}", null, "time" },
        { "GET", $"/emissions/forecasts/current?location=ES&dataStartAt={YearOne}", null, "dataStartAt" },
        { "GET", $"/emissions/forecasts/current?location=ES&dataEndAt={Year9999}", null, "dataEndAt" },
        { "POST", "/emissions/forecasts/batch", $"[{{\"location\":\"ES\",\"requestedAt\":\"{YearOne}\"}}]", "requestedAt" },
        { "GET", $"/emissions/average-carbon-intensity?location=ES&startTime={YearOne}&endTime=2026-01-01T00:00:00Z", null, "startTime" },
        { "GET", $"/emissions/average-carbon-intensity?location=ES&startTime=2026-01-01T00:00:00Z&endTime={Year9999}", null, "endTime" },

        // EdgeGreen's own.
        { "GET", $"/api/v1/carbon/zones/ES/intensity?from={YearOne}", null, "from" },
        { "GET", $"/api/v1/carbon/zones/ES/intensity?to={Year9999}", null, "to" },
        { "GET", $"/api/v1/agents/some-agent/readings?from={YearOne}", null, "from" },
        { "GET", $"/api/v1/agents/some-agent/readings?to={Year9999}", null, "to" },
        { "GET", $"/api/v1/fleet/energy?from={YearOne}", null, "from" },
        { "GET", $"/api/v1/fleet/energy?to={Year9999}", null, "to" },
        { "GET", $"/api/v1/emissions.csv?from={YearOne}", null, "from" },
        { "GET", $"/api/v1/emissions.csv?to={Year9999}", null, "to" },
        { "GET", "/api/v1/emissions.csv?from=1969-12-31T23:59:59Z", null, "from" },
        { "GET", "/api/v1/emissions.csv?to=2200-01-01T00:00:00Z", null, "to" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Route_InstantOutOfRange_Returns400NamingTheParameter(string method, string path, string? body, string parameter)
    {
        using var http = ControlPlane.CreateClient(ControlPlane.AdminKey);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("1970-01-01", problem.GetProperty("errors").GetProperty(parameter)[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(ControlPlane.Errors.Entries);
    }

    [Theory]
    [InlineData("1970-01-01T00:00:00Z", true)]
    [InlineData("2199-12-31T23:59:59.9999999Z", true)]
    [InlineData("1969-12-31T23:59:59.9999999Z", false)]
    [InlineData("2200-01-01T00:00:00Z", false)]
    [InlineData("2199-12-31T23:00:00-01:00", false)]
    public void IsPlausible_AtTheBounds_AcceptsFromTheEpochUpTo2200(string instant, bool plausible) =>
        Assert.Equal(plausible, Instants.IsPlausible(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Problems_NamesOnlyTheImplausibleInstants()
    {
        var problems = Instants.Problems(("from", DateTimeOffset.MinValue), ("to", null), ("at", DateTimeOffset.UnixEpoch));

        Assert.Equal(["from"], problems!.Keys);
        Assert.Null(Instants.Problems(("to", null), ("at", DateTimeOffset.UnixEpoch)));
    }
}
