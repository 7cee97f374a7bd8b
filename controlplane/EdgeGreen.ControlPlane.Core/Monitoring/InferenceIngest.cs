using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Takes an agent's inference summaries: checks each, puts its counts into the bin order of the
/// version's reference profile (see <see cref="ProfileBins"/>), and stores what is new in one
/// transaction. A malformed summary is refused and counted, never stored in part; a feature that
/// does not fit the profile is left out and counted. An agent reports only for deployments it is a
/// target of (by id, zone or labels), so that no agent can move another deployment's drift or results.
/// </summary>
public sealed class InferenceIngest(IMonitoringStore store, IAgentStore agents, IDeploymentStore deployments, IModelStore models, ReferenceProfiles profiles,
    MonitoringMetrics metrics)
{
    /// <summary>Summaries one call may carry.</summary>
    public const int MaxSummaries = 500;

    private const int MaxText = 256;
    private const int MaxFeatures = 4096;
    private const int MaxBins = 4096;
    private const int MaxItemsPerSummary = 100_000;

    public async Task<ReportInferenceResponse> ReportAsync(string agentId, ReportInferenceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Summaries.Count > MaxSummaries)
        {
            throw new ArgumentException($"A report carries at most {MaxSummaries} summaries; it had {request.Summaries.Count}.");
        }

        var response = new ReportInferenceResponse();
        var records = new List<InferenceSummaryRecord>();
        var dropped = 0;
        var agent = await agents.GetAsync(agentId, cancellationToken);
        foreach (var summary in request.Summaries)
        {
            var (record, problem, droppedHere) = await ConvertAsync(agentId, agent, summary, cancellationToken);
            if (record is null)
            {
                response.Rejected++;
                response.FirstRejection = response.FirstRejection.Length > 0 ? response.FirstRejection : $"Summary '{Clip(summary.Id)}': {problem}";
                continue;
            }

            dropped += droppedHere;
            records.Add(record);
        }

        var (accepted, duplicates) = records.Count == 0 ? (0, 0) : await store.AddSummariesAsync(records, cancellationToken);
        (response.Accepted, response.Duplicates, response.FeaturesDropped) = ((uint)accepted, (uint)duplicates, (uint)dropped);
        metrics.Summaries.WithLabels("accepted").Inc(accepted);
        metrics.Summaries.WithLabels("duplicate").Inc(duplicates);
        metrics.Summaries.WithLabels("rejected").Inc(response.Rejected);
        metrics.FeaturesDropped.Inc(dropped);
        foreach (var group in records.GroupBy(r => r.Traffic.Deployment))
        {
            metrics.Inferences.WithLabels(group.Key).Inc(group.Sum(r => r.Traffic.Inferences));
        }

        return response;
    }

    private async Task<(InferenceSummaryRecord? Record, string? Problem, int Dropped)> ConvertAsync(string agentId, AgentRecord? agent, InferenceSummary summary,
        CancellationToken cancellationToken)
    {
        if (Problem(summary) is { } problem)
        {
            return (null, problem, 0);
        }

        if (await deployments.GetAsync(summary.Deployment, cancellationToken) is not { } deployment)
        {
            return (null, $"deployment '{summary.Deployment}' does not exist (any more).", 0);
        }

        if (agent is null || !deployment.Target.Includes(agent.Id, agent.EffectiveZone, agent.Labels))
        {
            return (null, $"agent {agentId} is not a target of deployment '{summary.Deployment}'.", 0);
        }

        var version = await models.GetVersionAsync(summary.Model, summary.Version, cancellationToken);
        var reference = version is null ? null : await profiles.GetAsync(version, cancellationToken);
        var dropped = 0;
        List<FeatureCounts> Features(IEnumerable<FeatureSummary> features, Func<string, MonitoredFeature?> find)
        {
            var kept = new List<FeatureCounts>();
            foreach (var feature in features)
            {
                var monitored = find(feature.Name);
                var counts = monitored is null ? null : ProfileBins.FromAgent(monitored.Binning, feature.Counts);
                if (monitored is null || counts is null || (monitored.Binning.IsNumeric && (ulong)counts.Sum() != feature.Count))
                {
                    dropped++;
                    continue;
                }

                kept.Add(feature.Count == 0 || !monitored.Binning.IsNumeric
                    ? new FeatureCounts(feature.Name, counts, (long)feature.Missing, 0, 0, 0, 0, 0)
                    : new FeatureCounts(feature.Name, counts, (long)feature.Missing, (long)feature.Count, feature.Sum, feature.SumOfSquares, feature.Min, feature.Max));
            }

            return kept;
        }

        var inputs = Features(summary.Inputs, name => reference?.Input(name));
        var outputs = Features(summary.Outputs, name => reference?.Output(name));
        var start = summary.WindowStart.ToDateTimeOffset();
        var traffic = new TrafficWindow(summary.Deployment, summary.Model, summary.Version, start, summary.Window.ToTimeSpan(),
            (long)summary.Requests, (long)summary.FailedRequests, (long)summary.Inferences, summary.EnergyJoules, inputs, outputs);
        var predictions = summary.Predictions.Select(p => new LoggedPrediction(summary.Deployment, p.RequestId, summary.Model, summary.Version, agentId, p.Time.ToDateTimeOffset(), p.Value)).ToList();
        var samples = summary.Samples.Select(s => new SampledRequest(summary.Deployment, summary.Model, summary.Version, agentId, s.RequestId, s.Time.ToDateTimeOffset(),
            Values(s.Inputs), Values(s.Outputs))).ToList();
        return (new InferenceSummaryRecord(agentId, summary.Id, traffic, predictions, samples, (long)summary.SampleOffered), null, dropped);
    }

    private static Dictionary<string, IReadOnlyList<double>> Values(IEnumerable<SampledValue> values) =>
        values.GroupBy(v => v.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<double>)[.. g.First().Values], StringComparer.Ordinal);

    /// <summary>What is wrong with the summary as sent, or null.</summary>
    private static string? Problem(InferenceSummary summary)
    {
        if (!IsText(summary.Id))
        {
            return $"id must be 1 to {MaxText} characters without control characters.";
        }

        if (!ResourceNames.IsValid(summary.Deployment) || !ResourceNames.IsValid(summary.Model) || summary.Version < 1)
        {
            return "deployment and model must be resource names and version at least 1.";
        }

        if (summary.WindowStart is null || summary.Window is null || !Instants.IsPlausible(summary.WindowStart.ToDateTimeOffset())
            || summary.Window.ToTimeSpan() is var window && (window <= TimeSpan.Zero || window > TimeSpan.FromHours(1)
                || TrafficWindow.HourOf(summary.WindowStart.ToDateTimeOffset()) != TrafficWindow.HourOf(summary.WindowStart.ToDateTimeOffset() + window - TimeSpan.FromTicks(1))))
        {
            return $"window_start must be an instant {Instants.Range}, and window a duration of at most an hour that ends in the hour it starts.";
        }

        if (summary.FailedRequests > summary.Requests || !double.IsFinite(summary.EnergyJoules) || summary.EnergyJoules < 0)
        {
            return "failed_requests may not exceed requests, and energy_joules must be finite and not negative.";
        }

        if (summary.Inputs.Count + summary.Outputs.Count > MaxFeatures
            || summary.Inputs.Concat(summary.Outputs).Any(f => !IsText(f.Name) || f.Counts.Count > MaxBins
                || (f.Count > 0 && !(double.IsFinite(f.Sum) && double.IsFinite(f.SumOfSquares) && double.IsFinite(f.Min) && double.IsFinite(f.Max) && f.Min <= f.Max))))
        {
            return $"at most {MaxFeatures} features of at most {MaxBins} bins, each named, with finite moments.";
        }

        if (summary.Predictions.Count > MaxItemsPerSummary || summary.Samples.Count > MaxItemsPerSummary
            || summary.Predictions.Any(p => !IsText(p.RequestId) || p.Time is null || !Instants.IsPlausible(p.Time.ToDateTimeOffset()) || !double.IsFinite(p.Value)))
        {
            return "predictions need a request id, a plausible time and a finite value.";
        }

        if (summary.Samples.Any(s => s.Time is null || !Instants.IsPlausible(s.Time.ToDateTimeOffset()) || s.RequestId.Length > MaxText
            || s.Inputs.Concat(s.Outputs).Any(v => !IsText(v.Name) || v.Values.Count > MaxBins || v.Values.Any(x => !double.IsFinite(x)))))
        {
            return "samples need a plausible time and named, finite values.";
        }

        return null;
    }

    private static bool IsText(string text) => text.Length is > 0 and <= MaxText && !text.Any(char.IsControl);

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
