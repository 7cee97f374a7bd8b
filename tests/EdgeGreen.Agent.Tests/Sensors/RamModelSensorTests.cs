using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests.Sensors;

public sealed class RamModelSensorTests : IDisposable
{
    private readonly SysfsTree _proc = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(1L << 30, 1)]
    [InlineData(24L << 30, 2)]
    [InlineData(64L << 30, 4)]
    [InlineData(1L << 40, 16)]
    public void InferModules_OnePer16GiB_CappedAt16(long bytes, int modules) =>
        Assert.Equal(modules, RamModelSensor.InferModules(bytes));

    [Fact]
    public void Sample_IdleThenFullyBusy_PowerFollowsModulesNotGigabytes()
    {
        // 1 TiB of memory: a per-gigabyte model (0.375 W/GB) would say 384 W.
        _proc.Write("meminfo", "MemTotal:       1073741824 kB\nMemFree:        1000 kB");
        Stat(busy: 0, idle: 0);
        var sensor = new RamModelSensor(new RamModelOptions(), _proc.Root, _time);
        Assert.Equal(16, sensor.Modules);
        sensor.Sample();

        Stat(busy: 0, idle: 400);
        _time.Advance(TimeSpan.FromSeconds(1));
        var idle = Assert.Single(sensor.Sample());
        Stat(busy: 400, idle: 400);
        _time.Advance(TimeSpan.FromSeconds(1));
        var busy = Assert.Single(sensor.Sample());

        Assert.Equal("dram", idle.Domain);
        Assert.Equal(EnergyProvenance.Modelled, idle.Provenance);
        Assert.Equal(16 * 1.0, idle.PowerWatts, 6);
        Assert.Equal(16 * 3.0, busy.PowerWatts, 6);
        Assert.Equal(16.0, sensor.IdlePowerWatts("dram"));
    }

    [Fact]
    public void Sample_ConfiguredModulesAndWatts_OverrideTheInference()
    {
        _proc.Write("meminfo", "MemTotal:       8000000 kB");
        Stat(busy: 0, idle: 0);
        var sensor = new RamModelSensor(new RamModelOptions { Modules = 6, IdleWattsPerModule = 2, ActiveWattsPerModule = 6 }, _proc.Root, _time);
        sensor.Sample();
        Stat(busy: 100, idle: 100);
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(6 * 4.0 * 2, Assert.Single(sensor.Sample()).EnergyJoules, 6);
        Assert.DoesNotContain("inferred", Assert.Single(sensor.Describe()).Note);
    }

    public void Dispose() => _proc.Dispose();

    private void Stat(long busy, long idle) =>
        _proc.Write("stat", $"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0");
}
