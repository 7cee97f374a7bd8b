using EdgeGreen.ControlPlane.Core.Carbon;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Emissions of energy used in a zone over a window, at the observed (realised) intensity,
/// time-weighted over the window as SCI asks: not an annual or hourly mean of the wrong hours.
/// </summary>
public sealed class JobAccounting(CarbonIntensity carbon)
{
    public const double JoulesPerKwh = 3_600_000;

    /// <summary>The time-weighted observed intensity over [from, to); null when the source has no data for the zone then.</summary>
    public async Task<double?> RealisedIntensityAsync(string zone, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (to <= from)
        {
            to = from + TimeSpan.FromSeconds(1);
        }

        IReadOnlyList<IntensityPoint> points;
        try
        {
            // From an hour before, so that the point covering the start is included even where the
            // source publishes it late.
            points = await carbon.GetHistoryAsync(zone, from - TimeSpan.FromHours(1), to, cancellationToken);
        }
        catch (UnknownZoneException)
        {
            return null;
        }

        if (points.Count == 0)
        {
            return null;
        }

        // Where the newest observation ends before the window does (the current hour not yet
        // published), it stands for the rest of the window.
        var last = points[^1];
        var covering = last.Time + last.Duration >= to ? points : [.. points, new IntensityPoint(last.Time + last.Duration, to - (last.Time + last.Duration), last.IntensityGramsPerKwh)];
        return covering[0].Time > from ? null : IntensityWindows.AverageOverPeriod(covering, from, to);
    }

    public static double Grams(double energyJoules, double intensityGramsPerKwh) => energyJoules / JoulesPerKwh * intensityGramsPerKwh;
}
