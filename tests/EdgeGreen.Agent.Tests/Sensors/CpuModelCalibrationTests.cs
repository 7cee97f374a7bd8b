using System.Globalization;
using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests.Sensors;

/// <summary>Calibration read through the real RAPL reader from a fixture tree whose counters follow a known power law.</summary>
public sealed class CpuModelCalibrationTests : IDisposable
{
    private readonly SysfsTree _tree = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Run_PackagePowerLinearInUtilisation_RecoversIdleAndMax()
    {
        // The machine: 20 W idle, 80 W at full load; a level of load gives slightly less utilisation.
        _tree.Write("sys/class/powercap/intel-rapl:0/name", "package-0");
        _tree.Write("sys/class/powercap/intel-rapl:0/energy_uj", 0);
        _tree.Write("sys/class/powercap/intel-rapl:0/max_energy_range_uj", 262_143_328_850);
        long busy = 0, total = 0;
        WriteStat(busy, total);
        var rapl = RaplSensor.TryCreate(Path.Combine(_tree.Root, "sys"), new RaplOptions(), _time, out _)!;
        var level = 0.0;
        var calibration = new CpuModelCalibration(rapl, _tree.Root, l => { level = l; return new Release(); }, t =>
        {
            var utilisation = 0.02 + (0.95 * level);
            _time.Advance(t);
            busy += (long)(utilisation * t.TotalSeconds * 100);
            total += (long)(t.TotalSeconds * 100);
            WriteStat(busy, total);
            var counter = (long)_tree.Read("sys/class/powercap/intel-rapl:0/energy_uj");
            _tree.Write("sys/class/powercap/intel-rapl:0/energy_uj", counter + (long)((20 + (60 * utilisation)) * t.TotalSeconds * 1e6));
            return Task.CompletedTask;
        });
        using var progress = new StringWriter();

        var result = await calibration.RunAsync(TimeSpan.FromSeconds(10), progress);

        Assert.Equal(20, result.IdleWatts, 1);
        Assert.Equal(80, result.MaxWatts, 1);
        Assert.True(result.RSquared > 0.999);
        Assert.Equal(CpuModelCalibration.Levels.Length, result.Points.Count);
        Assert.Contains("load 100%: utilisation  97.0%, package    78.2 W", progress.ToString());
    }

    [Fact]
    public void Fit_UtilisationNeverChanged_SaysWhy() =>
        Assert.Contains("did not change the CPU utilisation",
            Assert.Throws<InvalidOperationException>(() => CpuModelCalibration.Fit([new(0, 0.5, 30), new(1, 0.5, 31)])).Message);

    [Fact]
    public async Task Command_WithoutRapl_SaysWhatItNeeds()
    {
        using var output = new StringWriter();

        var code = await CpuModelCalibration.RunCommandAsync([$"--EdgeGreen:Agent:Sensors:SysfsRoot={_tree.Root}"], output);

        Assert.Equal(1, code);
        Assert.Contains("needs readable RAPL counters", output.ToString());
    }

    public void Dispose() => _tree.Dispose();

    private void WriteStat(long busy, long total) =>
        _tree.Write("stat", string.Create(CultureInfo.InvariantCulture, $"cpu  {busy} 0 0 {total - busy} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0"));

    private sealed class Release : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
