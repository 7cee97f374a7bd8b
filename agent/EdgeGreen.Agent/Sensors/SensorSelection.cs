using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Decides once, at start, which sensors the agent reads: RAPL where its counters are readable,
/// else the CPU utilisation model, with the reason RAPL was not used logged once and shown in the
/// agent's sensor list. The model never runs beside RAPL, which would count the CPU twice.
/// </summary>
public sealed partial class SensorSelection
{
    private readonly ILogger<SensorSelection> _logger;

    public SensorSelection(IOptions<AgentOptions> options, TimeProvider timeProvider, ILogger<SensorSelection> logger)
    {
        _logger = logger;
        var agent = options.Value;
        var sensors = new List<IEnergySensor>();
        string? raplReason = "RAPL is switched off (Sensors:Rapl:Enabled=false)";
        if (agent.Sensors.Rapl.Enabled && RaplSensor.TryCreate(agent.Sensors.SysfsRoot, agent.Sensors.Rapl, timeProvider, out raplReason) is { } rapl)
        {
            sensors.Add(rapl);
            LogRapl(rapl.Counters.Count, string.Join(", ", rapl.Counters.Select(c => c.Domain).Distinct()));
        }
        else if (agent.CpuModel.Enabled)
        {
            LogModelled(raplReason ?? "");
            sensors.Add(new ProcStatCpuModelSensor(agent.CpuModel, agent.Sensors.ProcRoot, timeProvider, $"CPU power is modelled: {raplReason}."));
        }

        Sensors = sensors;
    }

    public IReadOnlyList<IEnergySensor> Sensors { get; }

    [LoggerMessage(Level = LogLevel.Information, Message = "Measuring CPU energy from {Counters} RAPL counters ({Domains})")]
    private partial void LogRapl(int counters, string domains);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CPU power is modelled from utilisation, not measured: {Reason}")]
    private partial void LogModelled(string reason);
}
