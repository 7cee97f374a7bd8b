using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Carbon;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

public sealed class IntensityWindowsTests
{
    private static readonly DateTimeOffset One = new(2026, 6, 1, 1, 0, 0, TimeSpan.Zero);

    private static IReadOnlyList<IntensityPoint> Hourly(params double[] values) =>
        [.. values.Select((v, i) => new IntensityPoint(One.AddHours(i), TimeSpan.FromHours(1), v))];

    [Fact]
    public void AverageOverPeriod_WeighsPartlyCoveredPoints()
    {
        // The SDK's documented example: 01:30-03:30 over (01:00, 30), (02:00, 100), (03:00, 50).
        var average = IntensityWindows.AverageOverPeriod(Hourly(30, 100, 50), One.AddMinutes(30), One.AddMinutes(150));

        Assert.Equal((30 / 4.0) + (100 / 2.0) + (50 / 4.0), average, 9);
    }

    [Fact]
    public void AverageOverPeriod_PeriodNotCovered_Throws()
    {
        Assert.Throws<ArgumentException>(() => IntensityWindows.AverageOverPeriod(Hourly(30, 100), One, One.AddHours(3)));
        Assert.Throws<ArgumentException>(() => IntensityWindows.AverageOverPeriod(Hourly(30, 100), One.AddHours(-1), One.AddHours(1)));
    }

    [Fact]
    public void RollingAverage_TwoHourWindows_SlideByOnePointAndStopWhereDataEnds()
    {
        var windows = IntensityWindows.RollingAverage(Hourly(12, 11, 10, 12, 13), TimeSpan.FromHours(2), null, null);

        Assert.Equal([11.5, 10.5, 11, 12.5], windows.Select(w => w.IntensityGramsPerKwh));
        Assert.Equal(One.AddHours(1), Assert.Single(IntensityWindows.Optimal(windows)).Time);
        Assert.All(windows, w => Assert.Equal(TimeSpan.FromHours(2), w.Duration));
    }

    [Fact]
    public void RollingAverage_DataStartAndEnd_BoundTheWindows()
    {
        var windows = IntensityWindows.RollingAverage(Hourly(12, 11, 10, 12, 13), TimeSpan.FromMinutes(90), One.AddMinutes(30), One.AddHours(3));

        Assert.Equal([One.AddMinutes(30), One.AddMinutes(90)], windows.Select(w => w.Time));
        Assert.Equal((12 / 3.0) + (11 * 2 / 3.0), windows[0].IntensityGramsPerKwh, 9);
    }

    [Fact]
    public void Optimal_KeepsEveryTie()
    {
        Assert.Equal(2, IntensityWindows.Optimal(Hourly(5, 3, 3, 9)).Count);
        Assert.Empty(IntensityWindows.Optimal([]));
    }
}
