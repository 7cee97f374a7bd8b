using System.Reflection;
using Prometheus;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// Series that describe rather than count, refreshed as Prometheus scrapes: the build
/// (<c>edgegreen_build_info</c>), each enrolled agent with its name and zone
/// (<c>edgegreen_agent_info</c>, for joining agents' series by name or zone), and each zone's grid
/// intensity now (<c>edgegreen_grid_intensity_grams_per_kwh</c>). One series per agent and per
/// zone: bounded by the fleet, never by jobs or readings.
/// </summary>
public sealed partial class InfoMetrics
{
    private readonly IAgentStore _agents;
    private readonly CarbonIntensity _carbon;
    private readonly ILogger<InfoMetrics> _logger;
    private readonly Gauge _agentInfo;
    private readonly Gauge _intensity;
    private readonly Lock _gate = new();
    private HashSet<string[]> _agentSeries = new(LabelsComparer.Instance);
    private HashSet<string> _zoneSeries = new(StringComparer.Ordinal);

    public InfoMetrics(IMetricFactory factory, CollectorRegistry registry, IAgentStore agents, CarbonIntensity carbon, ILogger<InfoMetrics> logger)
    {
        _agents = agents;
        _carbon = carbon;
        _logger = logger;
        var assembly = typeof(InfoMetrics).Assembly;
        factory.CreateGauge("edgegreen_build_info", "The control plane's build: always 1, the version in its labels.", ["version", "runtime"])
            .WithLabels(assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "",
                Environment.Version.ToString())
            .Set(1);
        _agentInfo = factory.CreateGauge("edgegreen_agent_info", "Each enrolled agent: always 1, its name and effective zone in its labels.", ["agent", "name", "zone"]);
        _intensity = factory.CreateGauge("edgegreen_grid_intensity_grams_per_kwh", "Each zone's grid carbon intensity now (g CO2e/kWh), from the configured sources.",
            ["zone"]);
        registry.AddBeforeCollectCallback(RefreshAsync);
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var agents = await _agents.ListAsync(cancellationToken);
            var agentSeries = agents.Select(a => new[] { a.Id, a.Name, a.EffectiveZone }).ToHashSet(LabelsComparer.Instance);
            var intensities = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var zone in await _carbon.GetZonesAsync(cancellationToken))
            {
                if (await _carbon.GetCurrentAsync(zone, cancellationToken) is { } now)
                {
                    intensities[zone] = now.IntensityGramsPerKwh;
                }
            }

            lock (_gate)
            {
                foreach (var gone in _agentSeries.Except(agentSeries, LabelsComparer.Instance))
                {
                    _agentInfo.RemoveLabelled(gone);
                }

                foreach (var labels in agentSeries)
                {
                    _agentInfo.WithLabels(labels).Set(1);
                }

                foreach (var gone in _zoneSeries.Except(intensities.Keys))
                {
                    _intensity.RemoveLabelled(gone);
                }

                foreach (var (zone, gramsPerKwh) in intensities)
                {
                    _intensity.WithLabels(zone).Set(gramsPerKwh);
                }

                (_agentSeries, _zoneSeries) = (agentSeries, [.. intensities.Keys]);
            }
        }
        catch (Exception ex) when (ex is StorageException or CarbonSourceUnavailableException or UnknownZoneException)
        {
            // A scrape still answers with what it last knew; the failure is logged, never a 500.
            LogRefreshFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the agent and intensity info series for a scrape")]
    private partial void LogRefreshFailed(Exception exception);

    private sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static LabelsComparer Instance { get; } = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] labels)
        {
            var hash = new HashCode();
            foreach (var label in labels)
            {
                hash.Add(label, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
