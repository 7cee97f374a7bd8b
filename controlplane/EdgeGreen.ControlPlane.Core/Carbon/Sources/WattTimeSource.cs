using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Carbon.Sources;

public sealed class WattTimeOptions
{
    public const string SectionName = "EdgeGreen:Carbon:WattTime";

    public Uri BaseUrl { get; set; } = new("https://api.watttime.org/");

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>The regions the account may read (e.g. <c>CAISO_NORTH</c>); they become zones.</summary>
    public List<string> Regions { get; set; } = [];

    /// <summary>WattTime signal; <c>co2_moer</c> is the marginal operating emissions rate.</summary>
    public string SignalType { get; set; } = "co2_moer";
}

/// <summary>
/// WattTime API v3: <c>/login</c> (HTTP Basic → bearer token, renewed before its 30 minutes run
/// out and again on a 401), <c>/v3/historical</c> (at most 32 days a request) and
/// <c>/v3/forecast</c>. Values arrive in lbs CO₂/MWh and are converted to g/kWh (÷ 2.20462).
/// WattTime's signal is marginal, not the average (location-based) intensity of the other sources.
/// </summary>
public sealed class WattTimeSource(HttpClient http, IOptions<WattTimeOptions> options, TimeProvider timeProvider)
    : ICarbonIntensitySource, IIntensityForecastSource, IDisposable
{
    private const double PoundsPerMwhPerGramPerKwh = 2.20462;
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(25);
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(32);
    private readonly SemaphoreSlim _login = new(1, 1);
    private (string Token, DateTimeOffset ExpiresAt)? _token;

    public string Name => "watttime";

    public Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. options.Value.Regions]);

    public async Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken)
    {
        EnsureServed(zone);
        var end = to < now ? to : now;
        var points = new List<IntensityPoint>();
        foreach (var (start, chunkEnd) in HistoryRanges.Chunks(from, end, MaxRange))
        {
            var response = await GetAsync($"v3/historical?region={Uri.EscapeDataString(zone)}&start={Iso(start)}&end={Iso(chunkEnd)}&signal_type={options.Value.SignalType}",
                cancellationToken);
            points.AddRange(ToPoints(response));
        }

        return HistoryRanges.Within(points, from, end);
    }

    public async Task<IReadOnlyList<IntensityPoint>> GetForecastAsync(string zone, DateTimeOffset now, TimeSpan horizon, CancellationToken cancellationToken)
    {
        EnsureServed(zone);
        var hours = (int)Math.Ceiling(Math.Clamp(horizon.TotalHours, 1, 72));
        var response = await GetAsync($"v3/forecast?region={Uri.EscapeDataString(zone)}&signal_type={options.Value.SignalType}&horizon_hours={hours}", cancellationToken);
        return [.. ToPoints(response).Where(p => p.Time < now + horizon)];
    }

    public void Dispose() => _login.Dispose();

    private void EnsureServed(string zone)
    {
        if (!options.Value.Regions.Contains(zone, StringComparer.Ordinal))
        {
            throw new UnknownZoneException(zone, Name);
        }
    }

    private static IEnumerable<IntensityPoint> ToPoints(SignalResponse response)
    {
        var period = TimeSpan.FromSeconds(response.Meta?.DataPointPeriodSeconds ?? 300);
        return response.Data.OrderBy(d => d.PointTime).Select(d => new IntensityPoint(d.PointTime, period, d.Value / PoundsPerMwhPerGramPerKwh));
    }

    private async Task<SignalResponse> GetAsync(string path, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.BaseUrl, path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(renew: attempt > 0, cancellationToken));
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                continue;
            }

            return await response.ReadJsonAsync<SignalResponse>(Name, cancellationToken);
        }
    }

    private async Task<string> TokenAsync(bool renew, CancellationToken cancellationToken)
    {
        await _login.WaitAsync(cancellationToken);
        try
        {
            if (!renew && _token is { } current && current.ExpiresAt > timeProvider.GetUtcNow())
            {
                return current.Token;
            }

            if (string.IsNullOrEmpty(options.Value.Username) || string.IsNullOrEmpty(options.Value.Password))
            {
                throw new InvalidOperationException("EdgeGreen:Carbon:WattTime:Username and Password are required to use WattTime.");
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.BaseUrl, "login"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Value.Username}:{options.Value.Password}")));
            using var response = await http.SendAsync(request, cancellationToken);
            var login = await response.ReadJsonAsync<LoginResponse>(Name, cancellationToken);
            var token = login.Token is { Length: > 0 } value ? value : throw new HttpRequestException("WattTime's login returned no token.");
            _token = (token, timeProvider.GetUtcNow() + TokenLifetime);
            return token;
        }
        finally
        {
            _login.Release();
        }
    }

    private static string Iso(DateTimeOffset instant) => Uri.EscapeDataString(instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));

    private sealed record LoginResponse([property: JsonPropertyName("token")] string? Token);

    private sealed record SignalResponse(
        [property: JsonPropertyName("data")] List<SignalPoint> Data,
        [property: JsonPropertyName("meta")] SignalMeta? Meta);

    private sealed record SignalPoint(
        [property: JsonPropertyName("point_time")] DateTimeOffset PointTime,
        [property: JsonPropertyName("value")] double Value);

    private sealed record SignalMeta([property: JsonPropertyName("data_point_period_seconds")] int? DataPointPeriodSeconds);
}
