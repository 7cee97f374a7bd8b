using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Carbon;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Forecast error of the seasonal-anomaly forecaster against two textbook baselines on the
/// bundled hourly traces. Every hour t₀ with a week of history is a forecast origin; the forecast
/// sees only hours up to t₀. The time constant τ is chosen on 2021 and reported on 2022 (and on
/// any further folder given with --eval-dir, read in place).
/// </summary>
internal static class ForecastBenchmark
{
    private static readonly int[] Horizons = [1, 6, 24];
    private static readonly double[] TimeConstants = [3, 6, 12, 24, 48, 96];
    private static readonly int[] ProfileDays = [1, 2, 3, 5, 7];

    public static void Run(string? evalDirectory)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Carbon", "Traces", "electricitymaps");
        var traces = Directory.EnumerateFiles(directory, "*.csv").Select(HourlyTrace.Read).OrderBy(t => t.Zone, StringComparer.Ordinal).ToList();

        Console.WriteLine("Choosing τ and the profile's days D on 2021 (mean MAPE over zones and horizons 1, 6, 24 h):");
        var tuning = traces.Where(t => t.Year == 2021).ToList();
        var scores = (from tau in TimeConstants
                      from days in ProfileDays
                      select (Tau: tau, Days: days, Score: tuning.Average(t => Horizons.Average(h => Mape(t, new Seasonal(tau, days), h))))).ToList();
        foreach (var (tau, days, score) in scores)
        {
            Console.WriteLine($"  τ = {tau,2} h, D = {days}: {score:F2} %");
        }

        var best = scores.MinBy(s => s.Score);
        Console.WriteLine($"  best: τ = {best.Tau} h, D = {best.Days} (EdgeGreen's defaults: τ = {SeasonalForecaster.DefaultTimeConstantHours} h, D = {SeasonalForecaster.DefaultProfileDays})");
        Console.WriteLine();

        Report("2022 (bundled)", traces.Where(t => t.Year == 2022).ToList());
        if (evalDirectory is not null)
        {
            Report($"evaluation traces in {evalDirectory}", [.. Directory.EnumerateFiles(evalDirectory, "*_hourly.csv").Select(HourlyTrace.Read).OrderBy(t => t.Zone, StringComparer.Ordinal)]);
        }
    }

    private static void Report(string title, IReadOnlyList<HourlyTrace> traces)
    {
        Console.WriteLine($"Mean absolute percentage error, {title}:");
        Console.WriteLine();
        Console.WriteLine("| zone | method | 1 h | 6 h | 24 h |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        IForecastMethod[] methods = [new Persistence(), new SeasonalNaive(), new Seasonal(SeasonalForecaster.DefaultTimeConstantHours, SeasonalForecaster.DefaultProfileDays)];
        foreach (var trace in traces)
        {
            foreach (var method in methods)
            {
                Console.WriteLine($"| {trace.Zone} {trace.Year} | {method.Name} | {string.Join(" | ", Horizons.Select(h => $"{Mape(trace, method, h):F1} %"))} |");
            }
        }

        Console.WriteLine();
    }

    private static double Mape(HourlyTrace trace, IForecastMethod method, int horizon)
    {
        var values = trace.IntensityGramsPerKwh.ToArray();
        var forecast = new double[horizon];
        double total = 0;
        var count = 0;
        for (var origin = SeasonalForecaster.HistoryHours - 1; origin + horizon < values.Length; origin++)
        {
            method.Forecast(values.AsSpan(origin - SeasonalForecaster.HistoryHours + 1, SeasonalForecaster.HistoryHours), forecast);
            var actual = values[origin + horizon];
            total += Math.Abs(forecast[horizon - 1] - actual) / actual;
            count++;
        }

        return 100 * total / count;
    }

    private interface IForecastMethod
    {
        string Name { get; }

        void Forecast(ReadOnlySpan<double> history, Span<double> forecast);
    }

    private sealed class Persistence : IForecastMethod
    {
        public string Name => "persistence (last value)";

        public void Forecast(ReadOnlySpan<double> history, Span<double> forecast) => forecast.Fill(history[^1]);
    }

    private sealed class SeasonalNaive : IForecastMethod
    {
        public string Name => "seasonal naive (same hour yesterday)";

        public void Forecast(ReadOnlySpan<double> history, Span<double> forecast)
        {
            for (var k = 0; k < forecast.Length; k++)
            {
                var hoursAhead = k + 1;
                forecast[k] = history[history.Length - 1 + hoursAhead - (24 * (int)Math.Ceiling(hoursAhead / 24.0))];
            }
        }
    }

    private sealed class Seasonal(double tau, int days) : IForecastMethod
    {
        private readonly SeasonalForecaster _forecaster = new(tau, days);

        public string Name => $"EdgeGreen seasonal-anomaly (τ = {tau} h, D = {days})";

        public void Forecast(ReadOnlySpan<double> history, Span<double> forecast) => _forecaster.Forecast(history, forecast);
    }
}
