using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Modelled CPU power where no counter is readable (containers, VMs): the busy share of all
/// logical CPUs from <c>/proc/stat</c>, mapped linearly between idle and full-load watts per CPU
/// (<see cref="CpuModelOptions"/>). Reports the <c>cpu.package</c> domain as <c>modelled</c>.
/// </summary>
/// <param name="options">The model's coefficients.</param>
/// <param name="procRoot">Where the proc filesystem is (<c>/proc</c>).</param>
/// <param name="timeProvider">The clock intervals are measured with.</param>
/// <param name="note">Why the model runs instead of a counter, shown in the agent's sensor list.</param>
public sealed class ProcStatCpuModelSensor(CpuModelOptions options, string procRoot, TimeProvider timeProvider, string? note = null) : IEnergySensor
{
    public const string Domain = "cpu.package";

    private readonly CounterBaseline<CpuTimes> _baseline = new(timeProvider);

    public string Id => "cpu-model";

    public IReadOnlyList<SensorDescriptor> Describe() =>
        [new SensorDescriptor(Id, "cpu-model", Domain, EnergyProvenance.Modelled, note)];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = timeProvider.GetTimestamp();
        var current = CpuTimes.Read(Path.Combine(procRoot, "stat"));
        if (_baseline.Advance(current, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;

        // Counters that went backwards mean the source was reset; treat the interval as idle
        // rather than inventing load.
        var utilisation = current.Total > previous.Total && current.Busy >= previous.Busy
            ? Math.Clamp((double)(current.Busy - previous.Busy) / (current.Total - previous.Total), 0, 1)
            : 0;
        var powerWatts = current.LogicalCpus * (options.IdleWattsPerCpu + (utilisation * (options.MaxWattsPerCpu - options.IdleWattsPerCpu)));
        return [new EnergyDelta(Domain, timeProvider.GetUtcNow(), elapsed, powerWatts * elapsed.TotalSeconds, EnergyProvenance.Modelled)];
    }

    /// <summary>The aggregate <c>cpu</c> line of /proc/stat, in USER_HZ ticks.</summary>
    private sealed record CpuTimes(ulong Busy, ulong Total, int LogicalCpus)
    {
        public static CpuTimes Read(string statPath)
        {
            ulong busy = 0, total = 0;
            var cpus = 0;
            var found = false;
            foreach (var line in File.ReadLines(statPath))
            {
                if (line.StartsWith("cpu ", StringComparison.Ordinal))
                {
                    // user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is
                    // already counted in user and nice, so it is not added again.
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length < 9)
                    {
                        throw new InvalidDataException($"{statPath}: the cpu line has {fields.Length - 1} fields, expected at least 8.");
                    }

                    var values = fields.Skip(1).Take(8).Select(f => ulong.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                    var idle = values[3] + values[4];
                    busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
                    total = busy + idle;
                    found = true;
                }
                else if (line.StartsWith("cpu", StringComparison.Ordinal) && line.Length > 3 && char.IsAsciiDigit(line[3]))
                {
                    cpus++;
                }
            }

            if (!found)
            {
                throw new InvalidDataException($"{statPath} has no aggregate cpu line.");
            }

            return new CpuTimes(busy, total, Math.Max(cpus, 1));
        }
    }
}
