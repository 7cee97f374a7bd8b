using EdgeGreen.Agent.Sensors.Nvml;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Decides once, at start, which sensors the agent reads. CPU: RAPL where its counters are
/// readable, else the utilisation model, with the reason RAPL was not used logged once and shown
/// in the agent's sensor list (the model never runs beside RAPL, which would count the CPU twice).
/// DRAM: RAPL's dram zone when enabled and present, else the RAM model. Then NVIDIA GPUs through
/// NVML, hwmon channels and batteries, each where present and switched on; an absent one is
/// logged once at start and never again.
/// </summary>
public sealed partial class SensorSelection : IDisposable
{
    private readonly ILogger<SensorSelection> _logger;

    public SensorSelection(IOptions<AgentOptions> options, TimeProvider timeProvider, ILogger<SensorSelection> logger)
    {
        _logger = logger;
        var agent = options.Value;
        var config = agent.Sensors;
        var sensors = new List<IEnergySensor>();

        string? raplReason = "RAPL is switched off (Sensors:Rapl:Enabled=false)";
        RaplSensor? rapl = null;
        if (config.Rapl.Enabled && (rapl = RaplSensor.TryCreate(config.SysfsRoot, config.Rapl, timeProvider, out raplReason)) is not null)
        {
            sensors.Add(rapl);
            LogRapl(rapl.Counters.Count, string.Join(", ", rapl.Counters.Select(c => c.Domain).Distinct()));
        }
        else if (agent.CpuModel.Enabled)
        {
            LogModelled(raplReason ?? "");
            sensors.Add(new ProcStatCpuModelSensor(agent.CpuModel, config.ProcRoot, timeProvider, $"CPU power is modelled: {raplReason}."));
        }

        var dramMeasured = rapl?.Counters.Any(c => c.Domain == RamModelSensor.Domain) == true;
        if (config.RamModel.Enabled && !dramMeasured)
        {
            try
            {
                var ram = new RamModelSensor(config.RamModel, config.ProcRoot, timeProvider);
                sensors.Add(ram);
                LogRamModelled(ram.Modules);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
            {
                LogAbsent("RAM model", ex.Message);
            }
        }

        Add(sensors, "NVML (NVIDIA GPUs)", config.Nvml.Enabled, (out string? reason) => NvmlSensor.TryCreate(config.NvmlLibrary, config.Nvml.Method, timeProvider, out reason));

        // The amd_energy hwmon driver reads the same counters as RAPL powercap on AMD CPUs.
        var ignoreChips = rapl is null ? config.Hwmon.IgnoreChips : [.. config.Hwmon.IgnoreChips, "amd_energy"];
        Add(sensors, "hwmon", config.Hwmon.Enabled, (out string? reason) => HwmonSensor.TryCreate(config.SysfsRoot, ignoreChips, timeProvider, out reason));
        Add(sensors, "power_supply (batteries)", config.PowerSupply.Enabled, (out string? reason) => PowerSupplySensor.TryCreate(config.SysfsRoot, timeProvider, out reason));

        Sensors = sensors;
    }

    private delegate IEnergySensor? Factory(out string? reason);

    public IReadOnlyList<IEnergySensor> Sensors { get; }

    public void Dispose()
    {
        foreach (var sensor in Sensors.OfType<IDisposable>())
        {
            sensor.Dispose();
        }
    }

    private void Add(List<IEnergySensor> sensors, string name, bool enabled, Factory create)
    {
        if (!enabled)
        {
            LogAbsent(name, "switched off");
            return;
        }

        if (create(out var reason) is { } sensor)
        {
            sensors.Add(sensor);
            LogFound(name, string.Join(", ", sensor.Describe().Select(d => d.Domain)), reason is null ? "" : "; " + reason);
        }
        else
        {
            LogAbsent(name, reason ?? "");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Measuring CPU energy from {Counters} RAPL counters ({Domains})")]
    private partial void LogRapl(int counters, string domains);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CPU power is modelled from utilisation, not measured: {Reason}")]
    private partial void LogModelled(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "DRAM power is modelled for {Modules} memory module(s); no DRAM counter is read")]
    private partial void LogRamModelled(int modules);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sensor {Name} reads {Domains}{Remark}")]
    private partial void LogFound(string name, string domains, string remark);

    [LoggerMessage(Level = LogLevel.Information, Message = "No {Name} sensor: {Reason}")]
    private partial void LogAbsent(string name, string reason);
}
