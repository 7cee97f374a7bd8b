using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Sensors.Nvml;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests.Sensors;

/// <summary>The NVML sensor through its real P/Invoke path, bound to a fake library the tests build and drive.</summary>
[Collection(nameof(FakeNvmlCollection))]
public sealed class NvmlSensorTests(FakeNvml nvml) : IDisposable
{
    private readonly SysfsTree _state = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Sample_EnergyCounter_ReportsInjectedEnergyWithin0_1Percent()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 123_456_789);
        _state.Write("gpu0/power_mw", 1);
        var sensor = Create(NvmlMethod.Auto);
        Assert.True(Assert.Single(sensor.Gpus).UsesCounter);
        sensor.Sample();

        var random = new Random(7);
        double injected = 0, reported = 0;
        for (var i = 0; i < 300; i++)
        {
            var millijoules = random.Next(0, 700_000);
            injected += millijoules / 1e3;
            _state.Write("gpu0/energy_mj", _state.Read("gpu0/energy_mj") + millijoules);
            _time.Advance(TimeSpan.FromSeconds(1));
            var delta = Assert.Single(sensor.Sample());
            Assert.Equal("gpu0", delta.Domain);
            Assert.Equal(EnergyProvenance.Measured, delta.Provenance);
            reported += delta.EnergyJoules;
        }

        Assert.InRange(reported / injected, 0.999, 1.001);
    }

    [Fact]
    public void Sample_NoEnergyCounter_IntegratesPowerInsteadOfReportingZero()
    {
        Gpus(1);
        _state.Write("gpu0/power_mw", 250_000);
        var sensor = Create(NvmlMethod.Auto);
        Assert.False(Assert.Single(sensor.Gpus).UsesCounter);
        Assert.Contains("power draw integrated", Assert.Single(sensor.Describe()).Note);
        sensor.Sample();

        double injected = 0, reported = 0;
        for (var i = 0; i < 100; i++)
        {
            // Power held constant over each interval: the trapezoids are exact.
            _time.Advance(TimeSpan.FromSeconds(2));
            injected += 250 * 2;
            reported += Assert.Single(sensor.Sample()).EnergyJoules;
        }

        Assert.InRange(reported / injected, 0.999, 1.001);

        _state.Write("gpu0/power_mw", 350_000);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(300, Assert.Single(sensor.Sample()).EnergyJoules, 6);
    }

    [Fact]
    public void TryCreate_TwoGpus_CounterAndPower_EachItsOwnDomain_AndAGpuWithNeitherIsNamed()
    {
        Gpus(3);
        _state.Write("gpu0/energy_mj", 0);
        _state.Write("gpu1/power_mw", 100_000);
        _state.Write("gpu0/name", "NVIDIA H100 80GB HBM3");
        var sensor = Create(NvmlMethod.Auto);

        Assert.Equal(["gpu0", "gpu1"], sensor.Describe().Select(d => d.Domain));
        Assert.All(sensor.Describe(), d => Assert.Contains("left out gpu2: neither energy counter", d.Note));
        Assert.StartsWith("NVIDIA H100 80GB HBM3: total-energy counter", sensor.Describe()[0].Note);
    }

    [Fact]
    public void TryCreate_PowerForced_IntegratesPowerEvenWithACounter()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 0);
        _state.Write("gpu0/power_mw", 100_000);

        Assert.False(Assert.Single(Create(NvmlMethod.Power).Gpus).UsesCounter);
    }

    [Fact]
    public void TryCreate_NoGpuReadable_GivesNoSensorAndTheReason()
    {
        Gpus(1);
        nvml.UseState(_state);

        Assert.Null(NvmlSensor.TryCreate(nvml.LibraryPath, NvmlMethod.Auto, _time, out var reason));
        Assert.Contains("gpu0: neither energy counter (Not Supported (3)) nor power reading", reason);
    }

    [Fact]
    public void TryCreate_InitFails_GivesNoSensorWithNvmlsReason()
    {
        _state.Write("init_error", "1");
        nvml.UseState(_state);

        Assert.Null(NvmlSensor.TryCreate(nvml.LibraryPath, NvmlMethod.Auto, _time, out var reason));
        Assert.Equal("nvmlInit failed: Insufficient Permissions (4)", reason);
    }

    [Fact]
    public void TryCreate_LibraryAbsent_GivesNoSensorAndNoError()
    {
        Assert.Null(NvmlSensor.TryCreate(Path.Combine(_state.Root, "libnvidia-ml.so.1"), NvmlMethod.Auto, _time, out var reason));
        Assert.Contains("is not installed (no NVIDIA driver)", reason);
    }

    [Fact]
    public void Sample_CounterReset_GivesANegativeDeltaThatTheGuardDrops()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 5_000_000);
        var sensor = Create(NvmlMethod.Auto);
        sensor.Sample();

        _state.Write("gpu0/energy_mj", 1_000);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("negative", SensorValueGuard.Check(Assert.Single(sensor.Sample()), 20_000));
    }

    [Fact]
    public void ReadProcessUsage_GivesEachProcesssSmUtilisation()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 0);
        _state.Write("gpu0/processes", "4242 60\n777 20");
        var sensor = Create(NvmlMethod.Auto);

        var usage = sensor.ReadProcessUsage();

        Assert.Equal(new Dictionary<int, double> { [4242] = 60, [777] = 20 }, usage["gpu0"]);
    }

    [Fact]
    public void Selection_EverySensorPresent_ReadsEachOnce_AndLeavesRaplsTwinInHwmonOut()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 0);
        nvml.UseState(_state);
        using var sys = new SysfsTree();
        sys.Write("class/powercap/intel-rapl:0/name", "package-0");
        sys.Write("class/powercap/intel-rapl:0/energy_uj", 0);
        sys.Write("class/hwmon/hwmon0/name", "amd_energy");
        sys.Write("class/hwmon/hwmon0/energy1_input", 0);
        sys.Write("class/hwmon/hwmon1/name", "ina3221");
        sys.Write("class/hwmon/hwmon1/power1_input", 0);
        sys.Write("class/power_supply/BAT0/type", "Battery");
        sys.Write("class/power_supply/BAT0/power_now", 0);
        var options = new AgentOptions
        {
            Sensors = { SysfsRoot = sys.Root, ProcRoot = sys.Root, NvmlLibrary = nvml.LibraryPath },
        };
        sys.Write("meminfo", "MemTotal: 1000 kB");
        sys.Write("stat", "cpu  1 0 0 1 0 0 0 0 0 0");

        using var selection = new SensorSelection(Microsoft.Extensions.Options.Options.Create(options), _time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SensorSelection>.Instance);

        Assert.Equal(["rapl", "ram-model", "nvml", "hwmon", "power_supply"], selection.Sensors.Select(s => s.Id));
        Assert.Equal(["cpu.package", "dram", "gpu0", "hwmon.ina3221.power1", "platform.bat0"],
            selection.Sensors.SelectMany(s => s.Describe()).Select(d => d.Domain));
    }

    [Fact]
    public void Selection_SensorsSwitchedOff_AreNotRead()
    {
        Gpus(1);
        _state.Write("gpu0/energy_mj", 0);
        nvml.UseState(_state);
        var options = new AgentOptions { Sensors = { SysfsRoot = _state.Root, NvmlLibrary = nvml.LibraryPath } };
        options.Sensors.Nvml.Enabled = false;
        options.Sensors.RamModel.Enabled = false;
        options.CpuModel.Enabled = false;

        using var selection = new SensorSelection(Microsoft.Extensions.Options.Options.Create(options), _time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SensorSelection>.Instance);

        Assert.Empty(selection.Sensors);
    }

    public void Dispose() => _state.Dispose();

    private void Gpus(int count) => _state.Write("count", count);

    private NvmlSensor Create(NvmlMethod method)
    {
        nvml.UseState(_state);
        return NvmlSensor.TryCreate(nvml.LibraryPath, method, _time, out var reason) ?? throw new InvalidOperationException(reason);
    }
}

[CollectionDefinition(nameof(FakeNvmlCollection))]
public sealed class FakeNvmlCollection : ICollectionFixture<FakeNvml>;
