using EdgeGreen.Agent.Sensors;

namespace EdgeGreen.Agent.Tests;

public sealed class SensorValueGuardTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(double.NaN, 1.0, "not_finite")]
    [InlineData(double.PositiveInfinity, 1.0, "not_finite")]
    [InlineData(-0.5, 1.0, "negative")]
    [InlineData(50_000.0, 1.0, "implausible_power")]
    [InlineData(1.0, 0.0, "non_positive_interval")]
    [InlineData(10.0, 1.0, null)]
    [InlineData(0.0, 1.0, null)]
    public void Check_Value_ReturnsReasonOrNull(double energyJoules, double intervalSeconds, string? expected)
    {
        var delta = new EnergyDelta("cpu.package", Now, TimeSpan.FromSeconds(intervalSeconds), energyJoules, EnergyProvenance.Measured);

        Assert.Equal(expected, SensorValueGuard.Check(delta, maxPlausiblePowerWatts: 20_000));
    }
}
