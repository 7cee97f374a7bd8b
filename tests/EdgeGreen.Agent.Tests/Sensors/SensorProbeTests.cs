using EdgeGreen.Agent.Sensors;

namespace EdgeGreen.Agent.Tests.Sensors;

[Collection(nameof(FakeNvmlCollection))]
public sealed class SensorProbeTests(FakeNvml nvml) : IDisposable
{
    private readonly SysfsTree _tree = new();
    private readonly SysfsTree _gpuState = new();

    [Fact]
    public async Task Probe_ReadsEverySensor_ComparesNvmlPower_AndWritesTotals()
    {
        _gpuState.Write("count", 1);
        _gpuState.Write("gpu0/energy_mj", 0);
        _gpuState.Write("gpu0/power_mw", 200_000);
        nvml.UseState(_gpuState);
        _tree.Write("sys/class/hwmon/hwmon0/name", "ina3221");
        _tree.Write("sys/class/hwmon/hwmon0/power1_input", 4_000_000);
        var json = Path.Combine(_tree.Root, "totals.json");
        using var output = new StringWriter();

        var code = await SensorProbe.RunAsync(
            ["--seconds", "0.6", "--interval", "0.2", "--compare-nvml-power", "--json", json,
             $"--EdgeGreen:Agent:Sensors:SysfsRoot={Path.Combine(_tree.Root, "sys")}", $"--EdgeGreen:Agent:Sensors:NvmlLibrary={nvml.LibraryPath}"], output);

        var text = output.ToString();
        Assert.Equal(0, code);
        Assert.Contains("sensor nvml-power   gpu0", text);
        Assert.Contains("sensor hwmon        hwmon.ina3221.power1", text);
        Assert.Contains("nvml-power/gpu0 200.0 W", text);
        Assert.Contains("hwmon/hwmon.ina3221.power1 4.0 W", text);
        Assert.Contains("\"domain\":\"gpu0\"", await File.ReadAllTextAsync(json));
    }

    [Fact]
    public async Task Probe_UnknownArgument_SaysHowToUseIt()
    {
        using var output = new StringWriter();

        Assert.Equal(2, await SensorProbe.RunAsync(["--frobnicate"], output));
        Assert.Contains(SensorProbe.Usage, output.ToString());
    }

    public void Dispose()
    {
        _tree.Dispose();
        _gpuState.Dispose();
    }
}
