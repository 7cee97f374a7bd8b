using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Carbon;

public sealed class CarbonOptions
{
    public const string SectionName = "EdgeGreen:Carbon";

    /// <summary>Folder of Electricity Maps hourly exports; default: the traces shipped with EdgeGreen.</summary>
    public string? TraceDirectory { get; set; }

    /// <summary>
    /// Whether the Carbon Aware SDK compatible routes (<c>/emissions/…</c>, <c>/locations</c>) answer
    /// without an API key, as the SDK's own service does; off by default (a viewer key is needed).
    /// Open or not, they are rate-limited (<c>EdgeGreen:Limits</c>).
    /// </summary>
    public bool AnonymousSdkRoutes { get; set; }

    /// <summary>The trace year replayed onto the present (see <see cref="BundledTraceSource"/>).</summary>
    public int ReplayYear { get; set; } = 2022;

    /// <summary>
    /// Sources in fallback order, from <c>bundled</c>, <c>electricitymaps</c>,
    /// <c>uk-carbon-intensity</c>; each request goes to the first that serves the zone and answers.
    /// </summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>How long answers from the sources are reused.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Per-attempt timeout of requests to HTTP sources.</summary>
    public TimeSpan HttpAttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a failed request to an HTTP source (exponential backoff with jitter).</summary>
    public int HttpRetries { get; set; } = 3;

    /// <summary>Delay before the first retry; later ones double.</summary>
    public TimeSpan HttpRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often <c>edgegreen_grid_intensity_grams_per_kwh</c> is refreshed from the sources (through
    /// the cache, so at most once per <see cref="CacheDuration"/> per zone reaches a paid API).
    /// </summary>
    public TimeSpan IntensityGaugeInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The sources used when none are configured.</summary>
    public IReadOnlyList<string> EffectiveSources => Sources.Count > 0 ? Sources : [BundledTraceSource.SourceName];
}

/// <summary>
/// The embedded default: hourly traces shipped with EdgeGreen, replayed so that the single-node
/// run has live-looking intensity. An instant maps to the same hour of the year (counted from
/// 1 January 00:00 UTC) in <see cref="CarbonOptions.ReplayYear"/>; hours past the trace's end
/// (31 December of a leap year) wrap to its start. History never runs past "now".
/// </summary>
public sealed class BundledTraceSource : ICarbonIntensitySource
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly IReadOnlyDictionary<string, HourlyTrace> _traces;

    public BundledTraceSource(IOptions<CarbonOptions> options)
    {
        var directory = options.Value.TraceDirectory ?? Path.Combine(AppContext.BaseDirectory, "Carbon", "Traces", "electricitymaps");
        var year = options.Value.ReplayYear;
        _traces = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*.csv").Select(HourlyTrace.Read).Where(t => t.Year == year)
                .ToDictionary(t => t.Zone, StringComparer.OrdinalIgnoreCase)
            : throw new DirectoryNotFoundException($"EdgeGreen:Carbon:TraceDirectory '{directory}' does not exist.");
        if (_traces.Count == 0)
        {
            throw new InvalidOperationException($"EdgeGreen:Carbon:ReplayYear {year}: no trace of that year in {directory}.");
        }
    }

    public const string SourceName = "bundled";

    public string Name => SourceName;

    public Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. _traces.Keys.Order(StringComparer.Ordinal)]);

    public Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!_traces.TryGetValue(zone, out var trace))
        {
            throw new UnknownZoneException(zone, Name);
        }

        var points = new List<IntensityPoint>();
        var end = to < now ? to : now;
        for (var hour = HistoryRanges.FloorToHour(from); hour < end; hour += Hour)
        {
            points.Add(new IntensityPoint(hour, Hour, trace.IntensityGramsPerKwh[HourOfYear(hour) % trace.IntensityGramsPerKwh.Count]));
        }

        return Task.FromResult<IReadOnlyList<IntensityPoint>>(points);
    }

    private static int HourOfYear(DateTimeOffset instant) =>
        (int)(instant.UtcDateTime - new DateTime(instant.UtcDateTime.Year, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalHours;
}
