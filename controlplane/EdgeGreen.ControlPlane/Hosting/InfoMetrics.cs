using System.Reflection;
using Prometheus;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// Series that describe rather than count: the build (<c>edgegreen_build_info</c>) and each
/// enrolled agent with its name and zone (<c>edgegreen_agent_info</c>, refreshed from the store as
/// Prometheus scrapes, for joining agents' series by name or zone). One series per agent: bounded
/// by the fleet, never by jobs or readings. (Grid intensity is not refreshed here: a scrape must
/// never call a carbon source.)
/// </summary>
public sealed partial class InfoMetrics
{
    private readonly IAgentStore _agents;
    private readonly ILogger<InfoMetrics> _logger;
    private readonly Gauge _agentInfo;
    private readonly Lock _gate = new();
    private HashSet<string[]> _agentSeries = new(LabelsComparer.Instance);

    public InfoMetrics(IMetricFactory factory, CollectorRegistry registry, IAgentStore agents, ILogger<InfoMetrics> logger)
    {
        _agents = agents;
        _logger = logger;
        var assembly = typeof(InfoMetrics).Assembly;
        factory.CreateGauge("edgegreen_build_info", "The control plane's build: always 1, the version in its labels.", ["version", "runtime"])
            .WithLabels(assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "",
                Environment.Version.ToString())
            .Set(1);
        _agentInfo = factory.CreateGauge("edgegreen_agent_info", "Each enrolled agent: always 1, its name and effective zone in its labels.", ["agent", "name", "zone"]);
        registry.AddBeforeCollectCallback(RefreshAsync);
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var agents = await _agents.ListAsync(cancellationToken);
            var agentSeries = agents.Select(a => new[] { a.Id, a.Name, a.EffectiveZone }).ToHashSet(LabelsComparer.Instance);

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

                _agentSeries = agentSeries;
            }
        }
        catch (StorageException ex)
        {
            // A scrape still answers with what it last knew; the failure is logged, never a 500.
            LogRefreshFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the agent info series for a scrape")]
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
