namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Modelled CPU power where no counter is readable (containers, VMs): the busy share of all
/// logical CPUs from <c>/proc/stat</c>, mapped linearly between the idle and full-load watts of
/// <see cref="CpuModelOptions"/>. Reports the <c>cpu.package</c> domain as <c>modelled</c>.
/// </summary>
/// <param name="options">The model's coefficients.</param>
/// <param name="procRoot">Where the proc filesystem is (<c>/proc</c>).</param>
/// <param name="timeProvider">The clock intervals are measured with.</param>
/// <param name="note">Why the model runs instead of a counter, shown in the agent's sensor list.</param>
public sealed class ProcStatCpuModelSensor(CpuModelOptions options, string procRoot, TimeProvider timeProvider, string? note = null) : IEnergySensor, IIdlePower
{
    public const string Domain = "cpu.package";

    private readonly CounterBaseline<ProcStat> _baseline = new(timeProvider);
    private double _idleWatts = double.NaN;

    public string Id => "cpu-model";

    public IReadOnlyList<SensorDescriptor> Describe() =>
        [new SensorDescriptor(Id, "cpu-model", Domain, EnergyProvenance.Modelled, note)];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = timeProvider.GetTimestamp();
        var current = ProcStat.Read(procRoot);
        var (idle, max) = options.For(current.LogicalCpus);
        _idleWatts = idle;
        if (_baseline.Advance(current, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;
        var powerWatts = idle + (current.UtilisationSince(previous) * (max - idle));
        return [new EnergyDelta(Domain, timeProvider.GetUtcNow(), elapsed, powerWatts * elapsed.TotalSeconds, EnergyProvenance.Modelled)];
    }

    public double? IdlePowerWatts(string domain) => domain == Domain && double.IsFinite(_idleWatts) ? _idleWatts : null;
}
