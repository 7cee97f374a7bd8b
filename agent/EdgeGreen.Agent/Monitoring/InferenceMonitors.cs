using EdgeGreen.Agent.Serving;
using EdgeGreen.Contracts.V1;
using LiteDB;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>
/// The monitors of the versions this agent serves with a profile: started when a version is
/// loaded, closed when it is unloaded (what it counted goes to the outbox then), and asked
/// periodically (<see cref="FlushDue"/>) for the windows that have ended.
/// </summary>
public sealed partial class InferenceMonitors(
    InferenceSummaryOutbox outbox,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    AgentMetrics metrics,
    ILoggerFactory loggers)
{
    private readonly Lock _gate = new();
    private readonly List<InferenceMonitor> _monitors = [];
    private readonly ILogger _logger = loggers.CreateLogger<InferenceMonitors>();

    /// <summary>Versions monitored now.</summary>
    public int Count
    {
        get { lock (_gate) { return _monitors.Count; } }
    }

    /// <summary>
    /// A monitor for a version loaded in <paramref name="session"/>, or null when it has no profile
    /// or its profile is out of bounds (logged and counted: the version is served unmonitored).
    /// Profiled features the model does not have are logged: their counts stay zero.
    /// </summary>
    internal InferenceMonitor? Start(MonitoredVersion version, MonitoringProfile? profile, InferenceSession session, Func<double>? energyJoules)
    {
        if (profile is null)
        {
            return null;
        }

        if (ProfileRules.Problem(profile) is { } problem)
        {
            metrics.MonitoringProfilesRefused.Inc();
            LogProfileRefused(version.Deployment, version.Model, version.Version, problem);
            return null;
        }

        var absent = profile.Inputs.Select(b => b.Name).Where(n => !session.InputMetadata.ContainsKey(n))
            .Concat(profile.Outputs.Select(b => b.Name).Where(n => !session.OutputMetadata.TryGetValue(n, out var meta) || !ModelInference.Carries(meta)))
            .ToList();
        if (absent.Count > 0)
        {
            LogFeaturesAbsent(version.Deployment, version.Model, version.Version, string.Join(", ", absent));
        }

        var monitor = new InferenceMonitor(version, profile, options.Value.Monitoring.MaxPredictionsPerWindow, timeProvider, new Random(),
            energyJoules, metrics, loggers.CreateLogger<InferenceMonitor>())
        {
            OutputNames = [.. profile.Outputs.Select(b => b.Name).Except(absent, StringComparer.Ordinal)],
        };
        lock (_gate)
        {
            _monitors.Add(monitor);
        }

        return monitor;
    }

    /// <summary>Closes a monitor (its version no longer takes requests) and writes what it counted.</summary>
    internal void Stop(InferenceMonitor? monitor)
    {
        if (monitor is null)
        {
            return;
        }

        lock (_gate)
        {
            _monitors.Remove(monitor);
        }

        Write(monitor.Close());
    }

    /// <summary>Writes every window that has ended to the outbox.</summary>
    /// <returns>How many summaries were written.</returns>
    public int FlushDue()
    {
        InferenceMonitor[] monitors;
        lock (_gate)
        {
            monitors = [.. _monitors];
        }

        var now = timeProvider.GetUtcNow();
        var written = 0;
        foreach (var monitor in monitors)
        {
            written += Write(monitor.Collect(now));
        }

        return written;
    }

    private int Write(IReadOnlyList<InferenceSummary> summaries)
    {
        var written = 0;
        foreach (var summary in summaries)
        {
            try
            {
                outbox.Add(summary);
                written++;
            }
            catch (Exception ex) when (ex is LiteException or IOException)
            {
                metrics.InferenceSummariesDropped.WithLabels("unwritable").Inc();
                LogNotStored(ex, summary.Id);
            }
        }

        return written;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment} serves {Model} version {Version} unmonitored: its monitoring profile is refused ({Problem})")]
    private partial void LogProfileRefused(string deployment, string model, int version, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment}: the monitoring profile of {Model} version {Version} names tensors the model does not have (or outputs it cannot read): {Names}; they are not counted")]
    private partial void LogFeaturesAbsent(string deployment, string model, int version, string names);

    [LoggerMessage(Level = LogLevel.Error, Message = "Summary {SummaryId} could not be written to the outbox and is lost")]
    private partial void LogNotStored(Exception exception, string summaryId);
}
