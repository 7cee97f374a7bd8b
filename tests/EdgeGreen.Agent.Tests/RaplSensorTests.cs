using System.Globalization;
using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests;

/// <summary>RAPL read from a powercap fixture tree that the test drives counter by counter.</summary>
public sealed class RaplSensorTests : IDisposable
{
    private const ulong MaxRange = 262_143_328_850;
    private readonly string _sysfs = Directory.CreateTempSubdirectory("edgegreen-sysfs-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    private string Powercap => Path.Combine(_sysfs, "class", "powercap");

    [Fact]
    public void Sample_TwoPackages_SumsThemIntoCpuPackage_AndNeverAddsCoreOrUncore()
    {
        Zone("intel-rapl:0", "package-0", 1_000_000);
        Zone("intel-rapl:0:0", "core", 500_000);
        Zone("intel-rapl:0:1", "uncore", 100_000);
        Zone("intel-rapl:0:2", "dram", 300_000);
        Zone("intel-rapl:1", "package-1", 2_000_000);
        Zone("intel-rapl:2", "psys", 9_000_000);
        var sensor = Create(new RaplOptions());
        sensor.Sample();

        Advance("intel-rapl:0", 12_345_678);
        Advance("intel-rapl:0:0", 10_000_000);
        Advance("intel-rapl:0:1", 1_000_000);
        Advance("intel-rapl:0:2", 4_000_000);
        Advance("intel-rapl:1", 7_654_322);
        Advance("intel-rapl:2", 50_000_000);
        _time.Advance(TimeSpan.FromSeconds(2));
        var delta = Assert.Single(sensor.Sample());

        Assert.Equal("cpu.package", delta.Domain);
        Assert.Equal(20.0, delta.EnergyJoules, 9);
        Assert.Equal(10.0, delta.PowerWatts, 9);
        Assert.Equal(EnergyProvenance.Measured, delta.Provenance);
        Assert.Equal(["cpu.package"], sensor.Describe().Select(d => d.Domain));
    }

    [Fact]
    public void Sample_DramAndPsysOptedIn_AreTheirOwnDomains()
    {
        Zone("intel-rapl:0", "package-0", 0);
        Zone("intel-rapl:0:0", "dram", 0);
        Zone("intel-rapl:1", "psys", 0);
        var sensor = Create(new RaplOptions { Dram = true, Psys = true });
        sensor.Sample();

        Advance("intel-rapl:0", 3_000_000);
        Advance("intel-rapl:0:0", 1_500_000);
        Advance("intel-rapl:1", 9_000_000);
        _time.Advance(TimeSpan.FromSeconds(1));
        var deltas = sensor.Sample().ToDictionary(d => d.Domain, d => d.EnergyJoules);

        Assert.Equal(3.0, deltas["cpu.package"], 9);
        Assert.Equal(1.5, deltas["dram"], 9);
        Assert.Equal(9.0, deltas["platform"], 9);
    }

    [Fact]
    public void Sample_CounterWrapsAtItsMaximumRange_GivesTheEnergyAcrossTheWrap()
    {
        Zone("intel-rapl:0", "package-0", MaxRange - 1_000_000);
        var sensor = Create(new RaplOptions());
        sensor.Sample();

        Set("intel-rapl:0", 4_000_000);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(5.0, Assert.Single(sensor.Sample()).EnergyJoules, 9);
    }

    [Fact]
    public void Sample_KnownEnergyInjectedOverManyIntervals_IsReportedWithin0_1Percent()
    {
        Zone("intel-rapl:0", "package-0", MaxRange - 7_777_777);
        var sensor = Create(new RaplOptions());
        sensor.Sample();
        var random = new Random(3);
        double injected = 0, reported = 0;

        for (var i = 0; i < 500; i++)
        {
            var microjoules = (ulong)random.Next(1, 200_000_000);
            injected += microjoules / 1e6;
            Advance("intel-rapl:0", microjoules);
            _time.Advance(TimeSpan.FromSeconds(1));
            reported += sensor.Sample().Sum(d => d.EnergyJoules);
        }

        Assert.InRange(reported / injected, 0.999, 1.001);
    }

    [Fact]
    public void TryCreate_OnlyMmioZones_UsesThem_ButNeverBesideTheMsrZones()
    {
        Zone("intel-rapl-mmio:0", "package-0", 0);
        Assert.Contains("intel-rapl-mmio:0", Assert.Single(Create(new RaplOptions()).Counters).EnergyPath);

        Zone("intel-rapl:0", "package-0", 0);
        Assert.Contains("intel-rapl:0", Assert.Single(Create(new RaplOptions()).Counters).EnergyPath);
    }

    [Fact]
    public void TryCreate_NoPowercap_SaysSo()
    {
        Assert.Null(RaplSensor.TryCreate(_sysfs, new RaplOptions(), _time, out var reason));
        Assert.Contains("no RAPL package zone", reason);
    }

    [Fact]
    public void Selection_CounterReadableOnlyByRoot_FallsBackToTheModelWithTheFixInItsNote()
    {
        // A directory in place of the file reads as access denied, as a root-only counter does for
        // an unprivileged agent (these tests may run as root, for whom file modes do not apply).
        Directory.CreateDirectory(Path.Combine(Powercap, "intel-rapl:0", "energy_uj"));
        File.WriteAllText(Path.Combine(Powercap, "intel-rapl:0", "name"), "package-0\n");

        var selection = new SensorSelection(Options.Create(new AgentOptions
        {
            Sensors = { SysfsRoot = _sysfs, ProcRoot = Path.Combine(AppContext.BaseDirectory, "fixtures", "proc-idle"), RamModel = { Enabled = false } },
        }), _time, NullLogger<SensorSelection>.Instance);

        var sensor = Assert.Single(selection.Sensors);
        var descriptor = Assert.Single(sensor.Describe());
        Assert.Equal(EnergyProvenance.Modelled, descriptor.Provenance);
        Assert.Contains("readable only by root", descriptor.Note);
        Assert.Contains("udev", descriptor.Note);
    }

    [Fact]
    public void Selection_ReadableRapl_ReplacesTheModel()
    {
        Zone("intel-rapl:0", "package-0", 0);

        var selection = new SensorSelection(Options.Create(new AgentOptions { Sensors = { SysfsRoot = _sysfs, RamModel = { Enabled = false } } }), _time,
            NullLogger<SensorSelection>.Instance);

        Assert.IsType<RaplSensor>(Assert.Single(selection.Sensors));
    }

    public void Dispose() => Directory.Delete(_sysfs, recursive: true);

    private RaplSensor Create(RaplOptions options) =>
        RaplSensor.TryCreate(_sysfs, options, _time, out var reason) ?? throw new InvalidOperationException(reason);

    private void Zone(string zone, string name, ulong microjoules)
    {
        var directory = Path.Combine(Powercap, zone);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "name"), name + "\n");
        File.WriteAllText(Path.Combine(directory, "max_energy_range_uj"), MaxRange.ToString(CultureInfo.InvariantCulture) + "\n");
        Set(zone, microjoules);
    }

    private void Set(string zone, ulong microjoules) =>
        File.WriteAllText(Path.Combine(Powercap, zone, "energy_uj"), microjoules.ToString(CultureInfo.InvariantCulture) + "\n");

    private void Advance(string zone, ulong microjoules)
    {
        var current = ulong.Parse(File.ReadAllText(Path.Combine(Powercap, zone, "energy_uj")).Trim(), CultureInfo.InvariantCulture);
        var next = current + microjoules;
        Set(zone, next > MaxRange ? next - MaxRange : next);
    }
}
