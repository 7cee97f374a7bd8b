using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Carbon.Sources;

public sealed class UkCarbonIntensityOptions
{
    public const string SectionName = "EdgeGreen:Carbon:UkCarbonIntensity";

    public Uri BaseUrl { get; set; } = new("https://api.carbonintensity.org.uk/");
}

/// <summary>
/// The National Energy System Operator's UK Carbon Intensity API (no key): zone <c>GB</c> is
/// the national series, <c>GB-1</c> … <c>GB-17</c> the regions by region id. Half-hourly points;
/// history prefers the measured value and falls back to the forecast the API published for that
/// slot (regions publish only forecasts); forecasts cover 48 hours.
/// </summary>
public sealed class UkCarbonIntensitySource(HttpClient http, IOptions<UkCarbonIntensityOptions> options) : ICarbonIntensitySource, IIntensityForecastSource
{
    private const int Regions = 17;
    private static readonly TimeSpan HalfHour = TimeSpan.FromMinutes(30);

    /// <summary>The API serves at most 14 days per request.</summary>
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(14);

    public string Name => "uk-carbon-intensity";

    public Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(["GB", .. Enumerable.Range(1, Regions).Select(r => $"GB-{r}")]);

    public async Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var end = to < now ? to : now;
        var points = new List<IntensityPoint>();
        foreach (var (start, chunkEnd) in HistoryRanges.Chunks(from, end, MaxRange))
        {
            points.AddRange(await ReadAsync(zone, $"{Iso(start)}/{Iso(chunkEnd)}", cancellationToken));
        }

        return HistoryRanges.Within(points, from, end);
    }

    public async Task<IReadOnlyList<IntensityPoint>> GetForecastAsync(string zone, DateTimeOffset now, TimeSpan horizon, CancellationToken cancellationToken)
    {
        var points = await ReadAsync(zone, $"{Iso(now)}/fw48h", cancellationToken);
        return [.. points.Where(p => p.Time < now + horizon)];
    }

    private async Task<IReadOnlyList<IntensityPoint>> ReadAsync(string zone, string range, CancellationToken cancellationToken)
    {
        List<Slot> slots;
        if (zone == "GB")
        {
            slots = (await GetAsync<NationalResponse>($"intensity/{range}", cancellationToken)).Data;
        }
        else if (zone.StartsWith("GB-", StringComparison.Ordinal) && int.TryParse(zone[3..], CultureInfo.InvariantCulture, out var region) && region is >= 1 and <= Regions)
        {
            // The API documents the region as an object under "data"; some of its regional
            // endpoints wrap it in a one-element array, so both are read.
            var data = (await GetAsync<JsonElement>($"regional/intensity/{range}/regionid/{region}", cancellationToken)).GetProperty("data");
            var regional = data.ValueKind == JsonValueKind.Array ? data[0] : data;
            slots = regional.GetProperty("data").Deserialize<List<Slot>>() ?? [];
        }
        else
        {
            throw new UnknownZoneException(zone, Name);
        }

        return [.. slots.Where(s => (s.Intensity.Actual ?? s.Intensity.Forecast) is not null).OrderBy(s => s.From)
            .Select(s => new IntensityPoint(s.From, HalfHour, (s.Intensity.Actual ?? s.Intensity.Forecast)!.Value))];
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(options.Value.BaseUrl, path), cancellationToken);
        return await response.ReadJsonAsync<T>("The UK Carbon Intensity API", cancellationToken);
    }

    /// <summary>The API's instant format: <c>2026-11-27T10:30Z</c>.</summary>
    private static string Iso(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);

    private sealed record NationalResponse([property: JsonPropertyName("data")] List<Slot> Data);

    private sealed record Slot(
        [property: JsonPropertyName("from")] DateTimeOffset From,
        [property: JsonPropertyName("intensity")] SlotIntensity Intensity);

    private sealed record SlotIntensity(
        [property: JsonPropertyName("forecast")] double? Forecast,
        [property: JsonPropertyName("actual")] double? Actual);
}
