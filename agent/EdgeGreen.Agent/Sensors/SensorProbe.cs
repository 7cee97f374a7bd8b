using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeGreen.Agent.Sensors.Nvml;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// <c>EdgeGreen.Agent probe</c>: reads every sensor the agent would use, once per interval for a
/// while, prints each domain's power and totals, and optionally writes them as JSON. With
/// <c>--compare-nvml-power</c> each GPU is also read by power integration beside its energy
/// counter, to show how the two agree.
/// </summary>
public static class SensorProbe
{
    public const string Usage =
        "usage: EdgeGreen.Agent probe [--seconds N] [--interval SECONDS] [--compare-nvml-power] [--json FILE] [--EdgeGreen:Agent:Sensors:KEY=VALUE ...]";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        double seconds = 10, intervalSeconds = 1;
        var compare = false;
        string? jsonPath = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out seconds) && seconds > 0:
                case "--interval" when i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out intervalSeconds) && intervalSeconds > 0:
                case "--json" when i + 1 < args.Length && (jsonPath = args[i + 1]) is not null:
                    i++;
                    break;
                case "--compare-nvml-power":
                    compare = true;
                    break;
                case var arg when arg.StartsWith("--EdgeGreen:", StringComparison.Ordinal):
                    rest.Add(arg);
                    break;
                default:
                    await output.WriteLineAsync($"probe: cannot use '{args[i]}'.\n{Usage}");
                    return 2;
            }
        }

        var options = DefaultSettings.AgentFromCommandLine(rest);
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        using var selection = new SensorSelection(Options.Create(options), TimeProvider.System, loggers.CreateLogger<SensorSelection>());
        var sensors = selection.Sensors.Select(s => (Label: s.Id, Sensor: s)).ToList();
        NvmlSensor? powerOnly = null;
        if (compare && options.Sensors.Nvml.Enabled)
        {
            powerOnly = NvmlSensor.TryCreate(options.Sensors.NvmlLibrary, NvmlMethod.Power, TimeProvider.System, out var reason);
            if (powerOnly is null)
            {
                await output.WriteLineAsync($"probe: no NVML power integration to compare: {reason}");
            }
            else
            {
                sensors.Add(("nvml-power", powerOnly));
            }
        }

        foreach (var (label, sensor) in sensors)
        {
            foreach (var d in sensor.Describe())
            {
                await output.WriteLineAsync($"sensor {label,-12} {d.Domain,-24} {d.Provenance.ToString().ToLowerInvariant(),-9} {d.Note}");
            }
        }

        var totals = new Dictionary<(string Sensor, string Domain), (double Joules, double Seconds)>();
        var clock = Stopwatch.StartNew();
        foreach (var (_, sensor) in sensors)
        {
            sensor.Sample();
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(intervalSeconds));
        while (clock.Elapsed.TotalSeconds < seconds && await timer.WaitForNextTickAsync())
        {
            var line = new List<string>();
            foreach (var (label, sensor) in sensors)
            {
                foreach (var delta in sensor.Sample())
                {
                    var (joules, covered) = totals.GetValueOrDefault((label, delta.Domain));
                    totals[(label, delta.Domain)] = (joules + delta.EnergyJoules, covered + delta.Interval.TotalSeconds);
                    line.Add(string.Create(CultureInfo.InvariantCulture, $"{label}/{delta.Domain} {delta.PowerWatts:F1} W"));
                }
            }

            foreach (var usage in selection.Sensors.OfType<IGpuProcessUsage>())
            {
                foreach (var (domain, byPid) in usage.ReadProcessUsage().Where(u => u.Value.Count > 0))
                {
                    line.Add($"{domain} processes {string.Join(",", byPid.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}:{p.Value:F0}%")))}");
                }
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"t={clock.Elapsed.TotalSeconds,6:F1}s  {string.Join("  ", line)}"));
        }

        await output.WriteLineAsync("totals:");
        foreach (var ((label, domain), (joules, covered)) in totals.OrderBy(t => t.Key.Domain).ThenBy(t => t.Key.Sensor))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {label,-12} {domain,-24} {joules,12:F1} J over {covered,7:F1} s = {joules / covered,8:F1} W"));
        }

        if (jsonPath is not null)
        {
            var rows = totals.Select(t => new { sensor = t.Key.Sensor, domain = t.Key.Domain, energyJoules = t.Value.Joules, seconds = t.Value.Seconds });
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(rows));
        }

        powerOnly?.Dispose();
        return totals.Count > 0 ? 0 : 1;
    }
}
