using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests.Sensors;

/// <summary>hwmon channels and batteries read from fixture sysfs trees that the tests drive over time.</summary>
public sealed class HwmonAndBatterySensorTests : IDisposable
{
    private readonly SysfsTree _sys = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Hwmon_EnergyCounterAndPowerChannels_NamedByChipAndLabel_InputRailIsTheWholeNode()
    {
        Chip("hwmon0", "amdgpu");
        _sys.Write("class/hwmon/hwmon0/power1_average", 150_000_000);
        _sys.Write("class/hwmon/hwmon0/power1_label", "PPT");
        Chip("hwmon1", "ina3221");
        _sys.Write("class/hwmon/hwmon1/power1_input", 9_000_000);
        _sys.Write("class/hwmon/hwmon1/power1_label", "VDD_IN");
        _sys.Write("class/hwmon/hwmon1/power2_input", 3_000_000);
        _sys.Write("class/hwmon/hwmon1/power2_label", "VDD_CPU_GPU_CV");
        Chip("hwmon2", "amd_energy");
        _sys.Write("class/hwmon/hwmon2/energy1_input", 1_000_000);
        _sys.Write("class/hwmon/hwmon2/energy1_label", "Esocket0");
        var sensor = CreateHwmon();
        sensor.Sample();

        _sys.Write("class/hwmon/hwmon2/energy1_input", 61_000_000);
        _time.Advance(TimeSpan.FromSeconds(2));
        var deltas = sensor.Sample().ToDictionary(d => d.Domain, d => d.EnergyJoules);

        Assert.Equal(300, deltas["hwmon.amdgpu.ppt"], 6);
        Assert.Equal(18, deltas["platform.ina3221"], 6);
        Assert.Equal(6, deltas["hwmon.ina3221.vdd_cpu_gpu_cv"], 6);
        Assert.Equal(60, deltas["hwmon.amd_energy.esocket0"], 6);
    }

    [Fact]
    public void Hwmon_KnownEnergyInjectedOverManyIntervals_IsReportedWithin0_1Percent()
    {
        Chip("hwmon0", "acpi_power_meter");
        _sys.Write("class/hwmon/hwmon0/energy1_input", 0);
        Chip("hwmon1", "ina226");
        _sys.Write("class/hwmon/hwmon1/power1_input", 5_000_000);
        var sensor = CreateHwmon();
        sensor.Sample();
        var random = new Random(11);
        double injected = 0, reported = 0, power = 5_000_000;

        for (var i = 0; i < 400; i++)
        {
            var microjoules = random.Next(0, 400_000_000);
            var next = random.Next(1_000_000, 20_000_000);
            var seconds = random.Next(1, 5);
            injected += (microjoules / 1e6) + ((power + next) / 2e6 * seconds);
            power = next;
            _sys.Write("class/hwmon/hwmon0/energy1_input", _sys.Read("class/hwmon/hwmon0/energy1_input") + microjoules);
            _sys.Write("class/hwmon/hwmon1/power1_input", next);
            _time.Advance(TimeSpan.FromSeconds(seconds));
            reported += sensor.Sample().Sum(d => d.EnergyJoules);
        }

        Assert.InRange(reported / injected, 0.999, 1.001);
    }

    [Fact]
    public void Hwmon_FileVanishesMidRun_ThePassFails_AndTheNextPassLosesNoEnergy()
    {
        Chip("hwmon0", "power_meter");
        _sys.Write("class/hwmon/hwmon0/energy1_input", 0);
        var sensor = CreateHwmon();
        sensor.Sample();

        _sys.Delete("class/hwmon/hwmon0/energy1_input");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.ThrowsAny<IOException>(() => sensor.Sample());

        _sys.Write("class/hwmon/hwmon0/energy1_input", 7_000_000);
        _time.Advance(TimeSpan.FromSeconds(1));
        var delta = Assert.Single(sensor.Sample());

        Assert.Equal(7, delta.EnergyJoules, 6);
        Assert.Equal(TimeSpan.FromSeconds(2), delta.Interval);
    }

    [Fact]
    public void Hwmon_CounterGoesBackwards_GivesANegativeDeltaThatTheGuardDrops()
    {
        Chip("hwmon0", "power_meter");
        _sys.Write("class/hwmon/hwmon0/energy1_input", 9_000_000);
        var sensor = CreateHwmon();
        sensor.Sample();

        _sys.Write("class/hwmon/hwmon0/energy1_input", 1_000);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("negative", SensorValueGuard.Check(Assert.Single(sensor.Sample()), 20_000));
    }

    [Fact]
    public void Hwmon_UnreadableAndIgnoredChannelsLeftOut_WithTheReasonInTheNote()
    {
        Chip("hwmon0", "ina3221");
        _sys.Write("class/hwmon/hwmon0/power1_input", 1_000_000);
        _sys.Write("class/hwmon/hwmon0/power2_input", 1_000_000);
        _sys.MakeUnreadable("class/hwmon/hwmon0/power2_input");
        Chip("hwmon1", "amd_energy");
        _sys.Write("class/hwmon/hwmon1/energy1_input", 0);

        var sensor = HwmonSensor.TryCreate(_sys.Root, ["amd_energy"], _time, out var reason);

        Assert.Equal(["hwmon.ina3221.power1"], sensor!.Channels.Select(c => c.Domain));
        Assert.Contains("hwmon.ina3221.power2", reason);
        Assert.Contains("left out hwmon.ina3221.power2", Assert.Single(sensor.Describe()).Note);
        Assert.Null(HwmonSensor.TryCreate(Path.Combine(_sys.Root, "none"), [], _time, out reason));
        Assert.Contains("no hwmon energy or power channel", reason);
    }

    [Fact]
    public void Battery_PowerNowWhileDischarging_IsTheWholeNode_AndReadsZeroOnMains()
    {
        Supply("BAT0", "Battery", "Discharging");
        _sys.Write("class/power_supply/BAT0/power_now", 12_000_000);
        Supply("AC", "Mains", null);
        _sys.Write("class/power_supply/AC/online", 1);
        var sensor = PowerSupplySensor.TryCreate(_sys.Root, _time, out _)!;
        sensor.Sample();

        _time.Advance(TimeSpan.FromSeconds(10));
        var delta = Assert.Single(sensor.Sample());
        Assert.Equal("platform.bat0", delta.Domain);
        Assert.Equal(120, delta.EnergyJoules, 6);

        // Plugged in: the battery charges and supplies nothing. The interval straddling the change
        // is the trapezoid between 12 W and 0 W.
        _sys.Write("class/power_supply/BAT0/status", "Charging");
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(60, Assert.Single(sensor.Sample()).EnergyJoules, 6);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, Assert.Single(sensor.Sample()).EnergyJoules, 6);
    }

    [Fact]
    public void Battery_VoltageTimesCurrent_WhenThereIsNoPowerNow_WithEitherSignOfCurrent()
    {
        Supply("battery", "Battery", "Discharging");
        _sys.Write("class/power_supply/battery/voltage_now", 3_800_000);
        _sys.Write("class/power_supply/battery/current_now", -500_000);
        var sensor = PowerSupplySensor.TryCreate(_sys.Root, _time, out _)!;
        sensor.Sample();

        _time.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal(3.8 * 0.5 * 4, Assert.Single(sensor.Sample()).EnergyJoules, 6);
    }

    [Fact]
    public void Battery_NoneOrUnreadable_GivesNoSensorAndTheReason()
    {
        Assert.Null(PowerSupplySensor.TryCreate(_sys.Root, _time, out var reason));
        Assert.Contains("no battery", reason);

        Supply("BAT1", "Battery", "Discharging");
        _sys.Write("class/power_supply/BAT1/capacity", 50);
        Assert.Null(PowerSupplySensor.TryCreate(_sys.Root, _time, out reason));
        Assert.Contains("neither power_now nor voltage_now and current_now", reason);
    }

    public void Dispose() => _sys.Dispose();

    private HwmonSensor CreateHwmon() =>
        HwmonSensor.TryCreate(_sys.Root, [], _time, out var reason) ?? throw new InvalidOperationException(reason);

    private void Chip(string directory, string name) => _sys.Write($"class/hwmon/{directory}/name", name);

    private void Supply(string name, string type, string? status)
    {
        _sys.Write($"class/power_supply/{name}/type", type);
        if (status is not null)
        {
            _sys.Write($"class/power_supply/{name}/status", status);
        }
    }
}
