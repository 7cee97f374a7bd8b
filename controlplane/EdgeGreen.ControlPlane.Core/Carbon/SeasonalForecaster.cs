namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>
/// Forecasts hourly intensity for sources that publish none, from past observations only:
/// <code>
/// f(t₀ + h) = P(t₀ + h) + (y(t₀) − P(t₀)) · exp(−h / τ)
/// P(t)      = mean of y(t − 24 h·d) for d = 1 … D (the days available)
/// </code>
/// P is the zone's typical value for that hour of the day over the past week (solar and demand
/// cycles), and today's deviation from it, y(t₀) − P(t₀), fades with time constant τ (weather
/// and outages persist for hours, not days). With less than a day of history it predicts the
/// last value (persistence). τ = <see cref="DefaultTimeConstantHours"/> h and D =
/// <see cref="DefaultProfileDays"/> were chosen by a grid search on the 2021 traces
/// (<c>dotnet run -c Release --project tests/EdgeGreen.Benchmarks -- forecast</c>); the README
/// reports the error on 2022.
/// </summary>
public sealed class SeasonalForecaster(
    double timeConstantHours = SeasonalForecaster.DefaultTimeConstantHours,
    int profileDays = SeasonalForecaster.DefaultProfileDays)
{
    public const double DefaultTimeConstantHours = 48;
    public const int DefaultProfileDays = 7;
    public const int MaxProfileDays = 7;
    public const string Method = "seasonal-anomaly";

    /// <summary>Hours of history the forecaster can use.</summary>
    public static int HistoryHours => (MaxProfileDays * 24) + 1;

    /// <summary>
    /// Fills <paramref name="forecast"/>[k] with the value for hour k + 1 after the last entry of
    /// <paramref name="history"/> (consecutive hours, oldest first, the last one being "now").
    /// </summary>
    public void Forecast(ReadOnlySpan<double> history, Span<double> forecast)
    {
        if (history.IsEmpty)
        {
            throw new ArgumentException("At least one observation is needed.", nameof(history));
        }

        var now = history.Length - 1;
        var last = history[now];
        if (history.Length <= 24)
        {
            forecast.Fill(last);
            return;
        }

        var anomaly = last - Profile(history, now, profileDays);
        for (var k = 0; k < forecast.Length; k++)
        {
            var hoursAhead = k + 1;
            forecast[k] = Math.Max(0, Profile(history, now + hoursAhead, profileDays) + (anomaly * Math.Exp(-hoursAhead / timeConstantHours)));
        }
    }

    /// <summary>Mean of the same hour on up to <paramref name="days"/> earlier days that lie in the history.</summary>
    private static double Profile(ReadOnlySpan<double> history, int index, int days)
    {
        double sum = 0;
        var count = 0;
        for (var day = 1; day <= days; day++)
        {
            var earlier = index - (24 * day);
            if (earlier < 0)
            {
                break;
            }

            if (earlier < history.Length)
            {
                sum += history[earlier];
                count++;
            }
        }

        return count > 0 ? sum / count : history[^1];
    }
}
