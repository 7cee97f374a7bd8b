using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests;

public sealed class ProcStatCpuModelSensorTests : IDisposable
{
    private readonly string _procRoot = Directory.CreateTempSubdirectory("edgegreen-proc-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Sample_FirstCall_EstablishesBaselineOnly()
    {
        UseFixture("proc-idle");
        var sensor = new ProcStatCpuModelSensor(new CpuModelOptions(), _procRoot, _time);

        Assert.Empty(sensor.Sample());
    }

    [Fact]
    public void Sample_BusyInterval_ModelsPowerFromUtilisationOfEveryCpu()
    {
        UseFixture("proc-idle");
        var sensor = new ProcStatCpuModelSensor(new CpuModelOptions { IdleWattsPerCpu = 1, MaxWattsPerCpu = 4 }, _procRoot, _time);
        sensor.Sample();

        UseFixture("proc-busy");
        _time.Advance(TimeSpan.FromSeconds(2));
        var delta = Assert.Single(sensor.Sample());

        // busy +1000 ticks of +1200 total: u = 5/6; two CPUs × (1 + 5/6 × 3) W = 7 W over 2 s.
        Assert.Equal(ProcStatCpuModelSensor.Domain, delta.Domain);
        Assert.Equal(EnergyProvenance.Modelled, delta.Provenance);
        Assert.Equal(TimeSpan.FromSeconds(2), delta.Interval);
        Assert.Equal(7.0, delta.PowerWatts, 6);
        Assert.Equal(14.0, delta.EnergyJoules, 6);
        Assert.Equal(_time.GetUtcNow(), delta.Time);
    }

    [Fact]
    public void Sample_CountersWentBackwards_TreatsIntervalAsIdle()
    {
        UseFixture("proc-busy");
        var sensor = new ProcStatCpuModelSensor(new CpuModelOptions { IdleWattsPerCpu = 1, MaxWattsPerCpu = 4 }, _procRoot, _time);
        sensor.Sample();

        UseFixture("proc-idle");
        _time.Advance(TimeSpan.FromSeconds(1));
        var delta = Assert.Single(sensor.Sample());

        Assert.Equal(2.0, delta.PowerWatts, 6);
    }

    [Fact]
    public void Sample_StatWithoutCpuLine_FailsWithThePath()
    {
        File.WriteAllText(Path.Combine(_procRoot, "stat"), "intr 1\nctxt 2\n");
        var sensor = new ProcStatCpuModelSensor(new CpuModelOptions(), _procRoot, _time);

        var error = Assert.Throws<InvalidDataException>(() => sensor.Sample());
        Assert.Contains(Path.Combine(_procRoot, "stat"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_RealProcStat_ReportsPlausiblePower()
    {
        var options = new CpuModelOptions();
        var sensor = new ProcStatCpuModelSensor(options, "/proc", TimeProvider.System);
        sensor.Sample();
        Thread.Sleep(50);

        var delta = Assert.Single(sensor.Sample());
        var cpus = File.ReadLines("/proc/stat").Count(l => l.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(l[3]));
        Assert.InRange(delta.PowerWatts, (cpus * options.IdleWattsPerCpu) - 1e-9, (cpus * options.MaxWattsPerCpu) + 1e-9);
    }

    public void Dispose() => Directory.Delete(_procRoot, recursive: true);

    private void UseFixture(string name) =>
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", name, "stat"), Path.Combine(_procRoot, "stat"), overwrite: true);
}
