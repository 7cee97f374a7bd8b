using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Carbon;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

public sealed class SeasonalForecasterTests
{
    private static double Cycle(int hour) => 200 + (80 * Math.Sin(2 * Math.PI * hour / 24));

    [Fact]
    public void Forecast_PureDailyCycle_IsReproducedExactly()
    {
        var history = Enumerable.Range(0, 24 * 7 + 1).Select(Cycle).ToArray();
        var forecast = new double[48];

        new SeasonalForecaster().Forecast(history, forecast);

        for (var k = 0; k < forecast.Length; k++)
        {
            Assert.Equal(Cycle(history.Length + k), forecast[k], 9);
        }
    }

    [Fact]
    public void Forecast_TodayAboveTheProfile_DeviationFadesWithTheTimeConstant()
    {
        var history = Enumerable.Repeat(100.0, 24 * 7).Append(160.0).ToArray();
        var forecast = new double[24];

        new SeasonalForecaster(timeConstantHours: 6).Forecast(history, forecast);

        Assert.Equal(100 + (60 * Math.Exp(-1 / 6.0)), forecast[0], 9);
        Assert.Equal(100 + (60 * Math.Exp(-1.0)), forecast[5], 9);
        Assert.True(forecast[22] < 102);
    }

    [Fact]
    public void Forecast_LessThanADayOfHistory_PredictsTheLastValue()
    {
        var forecast = new double[5];

        new SeasonalForecaster().Forecast([10, 20, 30], forecast);

        Assert.All(forecast, v => Assert.Equal(30, v));
    }

    [Fact]
    public void Forecast_NeverNegative()
    {
        var history = Enumerable.Repeat(50.0, 24 * 7).Append(0.0).ToArray();
        history[^25] = 0;
        var forecast = new double[24];

        new SeasonalForecaster(timeConstantHours: 1000).Forecast(history, forecast);

        Assert.All(forecast, v => Assert.True(v >= 0));
    }
}
