using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// CPU energy from the RAPL counters of the Linux powercap framework
/// (<c>&lt;SysfsRoot&gt;/class/powercap/intel-rapl:N</c>, which AMD processors also use). Package
/// zones report <c>cpu.package</c> (all sockets summed); the <c>dram</c> subzone and the
/// <c>psys</c> zone (reported as <c>platform</c>) only when enabled, since psys already contains
/// the packages and not every board has DRAM metering. <c>core</c> and <c>uncore</c> subzones are
/// parts of their package and are never added on top of it. Where the MSR interface exposes no
/// zone, the <c>intel-rapl-mmio</c> zones (the same counters read through MMIO) are used instead,
/// never both. A counter that went backwards wrapped at <c>max_energy_range_uj</c>.
/// </summary>
public sealed class RaplSensor : IEnergySensor
{
    public const string Kind = "rapl";

    private readonly IReadOnlyList<RaplCounter> _counters;
    private readonly TimeProvider _timeProvider;
    private readonly CounterBaseline<ulong[]> _baseline;

    private RaplSensor(IReadOnlyList<RaplCounter> counters, TimeProvider timeProvider)
    {
        _counters = counters;
        _timeProvider = timeProvider;
        _baseline = new CounterBaseline<ulong[]>(timeProvider);
    }

    public string Id => "rapl";

    /// <summary>The counters found, with the file each is read from.</summary>
    public IReadOnlyList<RaplCounter> Counters => _counters;

    /// <summary>
    /// Finds the RAPL zones under <paramref name="sysfsRoot"/> and checks that their counters can be
    /// read. Returns null with the reason when there is nothing usable: no powercap zones (a VM or
    /// container), or counters readable only by root (kernels since 5.10).
    /// </summary>
    public static RaplSensor? TryCreate(string sysfsRoot, RaplOptions options, TimeProvider timeProvider, out string? reason)
    {
        var powercap = Path.Combine(sysfsRoot, "class", "powercap");
        var counters = Discover(powercap, "intel-rapl", options);
        if (counters.Count == 0)
        {
            counters = Discover(powercap, "intel-rapl-mmio", options);
        }

        if (counters.Count == 0)
        {
            reason = $"no RAPL package zone under {powercap} (not exposed in this VM or container)";
            return null;
        }

        foreach (var counter in counters)
        {
            try
            {
                _ = ReadMicrojoules(counter.EnergyPath);
            }
            catch (UnauthorizedAccessException)
            {
                reason = $"{counter.EnergyPath} is readable only by root; to measure without root, let a group of the agent read it: " +
                    "deploy/systemd/90-edgegreen-powercap.rules (a udev rule for the group edgegreen-power) and edgegreen-agent-rapl.conf (the agent joins it)";
                return null;
            }
            catch (Exception ex) when (ex is IOException or FormatException or OverflowException)
            {
                reason = $"{counter.EnergyPath} cannot be read: {ex.Message}";
                return null;
            }
        }

        reason = null;
        return new RaplSensor(counters, timeProvider);
    }

    public IReadOnlyList<SensorDescriptor> Describe() =>
        [.. _counters.Select(c => c.Domain).Distinct().Select(domain => new SensorDescriptor(Id, Kind, domain, EnergyProvenance.Measured))];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = _timeProvider.GetTimestamp();
        var current = _counters.Select(c => ReadMicrojoules(c.EnergyPath)).ToArray();
        if (_baseline.Advance(current, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;

        var joules = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < _counters.Count; i++)
        {
            var delta = current[i] >= previous[i] ? current[i] - previous[i] : _counters[i].MaxMicrojoules - previous[i] + current[i];
            joules[_counters[i].Domain] = joules.GetValueOrDefault(_counters[i].Domain) + (delta / 1e6);
        }

        var time = _timeProvider.GetUtcNow();
        return [.. joules.Select(j => new EnergyDelta(j.Key, time, elapsed, j.Value, EnergyProvenance.Measured))];
    }

    private static List<RaplCounter> Discover(string powercap, string prefix, RaplOptions options)
    {
        var counters = new List<RaplCounter>();
        if (!Directory.Exists(powercap))
        {
            return counters;
        }

        foreach (var zone in Directory.EnumerateDirectories(powercap, prefix + ":*").Order(StringComparer.Ordinal))
        {
            var depth = Path.GetFileName(zone).Count(c => c == ':');
            var name = ReadName(zone);
            var domain = (depth, name) switch
            {
                (1, _) when name.StartsWith("package-", StringComparison.Ordinal) => "cpu.package",
                (1, "psys") when options.Psys => "platform",
                (2, "dram") when options.Dram => "dram",
                _ => null,
            };
            if (domain is not null)
            {
                counters.Add(new RaplCounter(domain, Path.Combine(zone, "energy_uj"), ReadMaxRange(zone)));
            }
        }

        return counters;
    }

    private static string ReadName(string zone)
    {
        var path = Path.Combine(zone, "name");
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>The wrap point of the counter; without it a wrap cannot be told from a reset, so the largest counter value is assumed.</summary>
    private static ulong ReadMaxRange(string zone)
    {
        try
        {
            return ReadMicrojoules(Path.Combine(zone, "max_energy_range_uj"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return ulong.MaxValue;
        }
    }

    private static ulong ReadMicrojoules(string path) => ulong.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
}

/// <summary>One RAPL energy counter and the domain it adds to.</summary>
public sealed record RaplCounter(string Domain, string EnergyPath, ulong MaxMicrojoules);
