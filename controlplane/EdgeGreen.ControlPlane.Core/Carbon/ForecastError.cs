namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>
/// How far forecasts were from what was then observed: mean absolute error (g/kWh) and mean
/// absolute percentage error (%) over <see cref="Hours"/> forecast hours matched with an observed
/// hour. Hours observed at zero intensity are left out of MAPE only (a percentage of zero is
/// undefined), so <see cref="MapeHours"/> may be fewer. Both are null when nothing was compared.
/// </summary>
public sealed record ForecastError(int Forecasts, int Hours, double? MaeGramsPerKwh, int MapeHours, double? MapePercent, IReadOnlyList<string> Methods)
{
    /// <summary>The error of each forecast's points against the observed points of the same hour.</summary>
    public static ForecastError Compare(IReadOnlyList<IntensityForecast> forecasts, IReadOnlyList<IntensityPoint> observed)
    {
        ArgumentNullException.ThrowIfNull(forecasts);
        ArgumentNullException.ThrowIfNull(observed);
        var actual = new Dictionary<DateTimeOffset, double>();
        foreach (var point in observed)
        {
            actual[point.Time] = point.IntensityGramsPerKwh;
        }

        double absolute = 0, percentage = 0;
        int hours = 0, mapeHours = 0, compared = 0;
        foreach (var forecast in forecasts)
        {
            var any = false;
            foreach (var point in forecast.Points)
            {
                if (!actual.TryGetValue(point.Time, out var value))
                {
                    continue;
                }

                any = true;
                var error = Math.Abs(point.IntensityGramsPerKwh - value);
                absolute += error;
                hours++;
                if (value > 0)
                {
                    percentage += error / value;
                    mapeHours++;
                }
            }

            compared += any ? 1 : 0;
        }

        return new ForecastError(compared, hours, hours > 0 ? absolute / hours : null, mapeHours, mapeHours > 0 ? 100 * percentage / mapeHours : null,
            [.. forecasts.Where(f => f.Points.Count > 0).Select(f => f.Method).Distinct(StringComparer.Ordinal)]);
    }
}
