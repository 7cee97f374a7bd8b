using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Modelled DRAM power where no DRAM counter is readable (<see cref="RamModelOptions"/>): per
/// module, between idle and active watts by the CPU busy share. Reports <c>dram</c> as
/// <c>modelled</c>. A model by module count, not by gigabyte: per-gigabyte models (0.375 W/GB)
/// put a 1 TiB server's memory at ~380 W, while its 16 modules draw a few watts each.
/// </summary>
public sealed class RamModelSensor : IEnergySensor, IIdlePower
{
    public const string Domain = "dram";

    private readonly RamModelOptions _options;
    private readonly string _procRoot;
    private readonly TimeProvider _timeProvider;
    private readonly CounterBaseline<ProcStat> _baseline;

    public RamModelSensor(RamModelOptions options, string procRoot, TimeProvider timeProvider)
    {
        _options = options;
        _procRoot = procRoot;
        _timeProvider = timeProvider;
        _baseline = new CounterBaseline<ProcStat>(timeProvider);
        Modules = options.Modules > 0 ? options.Modules : InferModules(ReadMemTotalBytes(procRoot));
    }

    public string Id => "ram-model";

    public int Modules { get; }

    public IReadOnlyList<SensorDescriptor> Describe() =>
    [
        new SensorDescriptor(Id, "ram-model", Domain, EnergyProvenance.Modelled,
            $"{Modules} module(s) × {_options.IdleWattsPerModule.ToString(CultureInfo.InvariantCulture)}–{_options.ActiveWattsPerModule.ToString(CultureInfo.InvariantCulture)} W" +
            (_options.Modules > 0 ? "" : " (modules inferred from MemTotal; set Sensors:RamModel:Modules for the real count)")),
    ];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = _timeProvider.GetTimestamp();
        var current = ProcStat.Read(_procRoot);
        if (_baseline.Advance(current, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;
        var perModule = _options.IdleWattsPerModule + (current.UtilisationSince(previous) * (_options.ActiveWattsPerModule - _options.IdleWattsPerModule));
        return [new EnergyDelta(Domain, _timeProvider.GetUtcNow(), elapsed, Modules * perModule * elapsed.TotalSeconds, EnergyProvenance.Modelled)];
    }

    public double? IdlePowerWatts(string domain) => domain == Domain ? Modules * _options.IdleWattsPerModule : null;

    /// <summary>One module per 16 GiB, at least 1, at most 16: larger machines fill their slots with larger modules, not more of them.</summary>
    public static int InferModules(long memTotalBytes) =>
        (int)Math.Clamp((memTotalBytes + (16L << 30) - 1) / (16L << 30), 1, 16);

    private static long ReadMemTotalBytes(string procRoot)
    {
        var path = Path.Combine(procRoot, "meminfo");
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidDataException($"{path} has no MemTotal line.");
    }
}

/// <summary>A modelled sensor that knows its domain's idle power, which attribution reports apart from the jobs.</summary>
public interface IIdlePower
{
    /// <summary>Idle power of <paramref name="domain"/> in watts, or null when this sensor does not report it.</summary>
    double? IdlePowerWatts(string domain);
}
