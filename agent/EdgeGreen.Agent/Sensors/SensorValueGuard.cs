namespace EdgeGreen.Agent.Sensors;

/// <summary>Rejects values no real node can produce, so that they are counted instead of stored.</summary>
public static class SensorValueGuard
{
    /// <returns>Null when the value is plausible, otherwise the reason it is not.</returns>
    public static string? Check(EnergyDelta delta, double maxPlausiblePowerWatts) => delta switch
    {
        { Interval.Ticks: <= 0 } => "non_positive_interval",
        { EnergyJoules: var e } when !double.IsFinite(e) => "not_finite",
        { EnergyJoules: < 0 } => "negative",
        { PowerWatts: var p } when p > maxPlausiblePowerWatts => "implausible_power",
        _ => null,
    };
}
