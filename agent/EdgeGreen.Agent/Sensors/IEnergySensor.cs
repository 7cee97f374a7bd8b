namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// A source of energy for one or more named domains. Implementations read cumulative counters
/// (or a model) and return the energy used since the previous call.
/// </summary>
public interface IEnergySensor
{
    /// <summary>Stable id of this sensor on the agent, e.g. <c>cpu-model</c>.</summary>
    string Id { get; }

    /// <summary>The domains this sensor reports and how it obtains them.</summary>
    IReadOnlyList<SensorDescriptor> Describe();

    /// <summary>
    /// Energy per domain since the previous call. The first call only establishes the baseline
    /// and returns nothing.
    /// </summary>
    IReadOnlyList<EnergyDelta> Sample();
}

public enum EnergyProvenance
{
    Measured,
    Modelled,
}

/// <param name="SensorId">Id of the sensor on its agent.</param>
/// <param name="Kind">Implementation kind: <c>rapl</c>, <c>nvml</c>, <c>hwmon</c>, <c>power_supply</c>, <c>cpu-model</c>.</param>
/// <param name="Domain">Energy domain: <c>cpu.package</c>, <c>dram</c>, <c>gpu0</c>, <c>platform</c>, …</param>
/// <param name="Provenance">Whether the values are read from a counter or estimated by a model.</param>
/// <param name="Note">Why a model stands in for a counter (e.g. RAPL readable only by root), when it does.</param>
public sealed record SensorDescriptor(string SensorId, string Kind, string Domain, EnergyProvenance Provenance, string? Note = null);

/// <summary>Energy used in one domain over the interval that ended at <paramref name="Time"/>.</summary>
public sealed record EnergyDelta(string Domain, DateTimeOffset Time, TimeSpan Interval, double EnergyJoules, EnergyProvenance Provenance)
{
    public double PowerWatts => EnergyJoules / Interval.TotalSeconds;
}
