namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>Grid carbon intensity over [Time, Time + Duration), location-based, in gCO₂e/kWh.</summary>
public sealed record IntensityPoint(DateTimeOffset Time, TimeSpan Duration, double IntensityGramsPerKwh);

/// <summary>A source of observed grid intensity per zone.</summary>
public interface ICarbonIntensitySource
{
    /// <summary>Short name for errors and logs, e.g. <c>bundled</c>.</summary>
    string Name { get; }

    Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken);

    /// <summary>Observed points overlapping [from, to), ordered by time; nothing after <paramref name="now"/>.</summary>
    Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>A source that also publishes forecasts (sources without one get EdgeGreen's forecaster).</summary>
public interface IIntensityForecastSource
{
    Task<IReadOnlyList<IntensityPoint>> GetForecastAsync(string zone, DateTimeOffset now, TimeSpan horizon, CancellationToken cancellationToken);
}

/// <summary>The zone is not served by the source.</summary>
public sealed class UnknownZoneException(string zone, string source)
    : Exception($"Zone '{zone}' is not served by the {source} carbon-intensity source.")
{
    public string Zone { get; } = zone;
}
