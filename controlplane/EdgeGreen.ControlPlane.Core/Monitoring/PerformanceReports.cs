using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>One label for a served request, as <c>POST …/feedback</c> takes it.</summary>
public sealed record FeedbackItem(string? RequestId, double? Label);

/// <summary>What a feedback call joined: labels matched to kept predictions, and the ids that matched none (yet).</summary>
public sealed record FeedbackResult(int Joined, IReadOnlyList<string> Unmatched);

/// <summary>Measured (from labels) and, for a binary classifier, estimated (from confidences alone) performance.</summary>
public sealed record PerformanceFigures(long Predictions, long Labelled, double? Auc, double? Accuracy, double? Rmse);

/// <summary>NannyML's confidence-based performance estimation over every kept prediction, labelled or not.</summary>
public sealed record PerformanceEstimate(string Method, long Predictions, double? Accuracy, double? Auc);

/// <summary>One hour of <see cref="PerformanceReport.Hours"/>.</summary>
public sealed record PerformanceHour(DateTimeOffset Start, PerformanceFigures Measured, PerformanceEstimate? Estimated);

/// <summary>
/// A deployed version's performance over a window: measured where labels were sent, estimated (and
/// marked so) for a binary classifier without them, overall and per hour.
/// </summary>
public sealed record PerformanceReport(
    string Deployment,
    string Model,
    int Version,
    string Task,
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    bool Truncated,
    PerformanceFigures Measured,
    PerformanceEstimate? Estimated,
    IReadOnlyList<PerformanceHour> Hours);

/// <summary>Feedback (labels joined to kept predictions by request id) and the performance computed from it.</summary>
public sealed class PerformanceReports(IDeploymentStore deployments, IMonitoringStore store, ReferenceProfiles profiles, IModelStore models, TimeProvider timeProvider)
{
    /// <summary>Labels one feedback call may carry.</summary>
    public const int MaxFeedback = 10_000;

    /// <summary>Kept predictions a report reads at most (the newest); beyond it the report says it is truncated.</summary>
    public const int MaxPredictions = 200_000;

    /// <summary>Above this share a binary classifier's probability counts as the positive class.</summary>
    public const double Threshold = 0.5;

    public async Task<(FeedbackResult? Result, MonitoringProblem? Problem)> AddFeedbackAsync(string deployment, IReadOnlyList<FeedbackItem>? items,
        CancellationToken cancellationToken)
    {
        if (items is null || items.Count is 0 or > MaxFeedback)
        {
            return (null, new MonitoringProblem("body", $"The body is a list of 1 to {MaxFeedback} {{requestId, label}}.", NotFound: false));
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].RequestId is not { Length: > 0 and <= 256 } id || id.Any(char.IsControl))
            {
                return (null, new MonitoringProblem($"[{i}].requestId", "requestId is the protocol's request id: 1 to 256 characters, no control characters.", NotFound: false));
            }

            if (items[i].Label is not { } label || !double.IsFinite(label))
            {
                return (null, new MonitoringProblem($"[{i}].label", "label is a finite number (0 or 1 for a binary classifier).", NotFound: false));
            }
        }

        if (await deployments.GetAsync(deployment, cancellationToken) is null)
        {
            return (null, new MonitoringProblem("name", $"No deployment is named '{deployment}'.", NotFound: true));
        }

        var unmatched = await store.AddLabelsAsync(deployment, [.. items.Select(i => (i.RequestId!, i.Label!.Value))], timeProvider.GetUtcNow(), cancellationToken);
        return (new FeedbackResult(items.Count - unmatched.Count, unmatched), null);
    }

    public async Task<(PerformanceReport? Report, MonitoringProblem? Problem)> ComputeAsync(string deployment, string window, int? version, CancellationToken cancellationToken)
    {
        if (!DriftReports.Windows.TryGetValue(window, out var length))
        {
            return (null, new MonitoringProblem("window", $"window must be one of {string.Join(", ", DriftReports.Windows.Keys)}.", NotFound: false));
        }

        if (await deployments.GetAsync(deployment, cancellationToken) is not { } record)
        {
            return (null, new MonitoringProblem("name", $"No deployment is named '{deployment}'.", NotFound: true));
        }

        var wanted = version ?? record.Current.Version;
        var model = record.Current.Version == wanted ? record.Current.Model : record.Previous?.Model ?? record.Current.Model;
        var modelVersion = await models.GetVersionAsync(model, wanted, cancellationToken);
        var binary = modelVersion is not null && (await profiles.GetAsync(modelVersion, cancellationToken))?.Outputs.FirstOrDefault() is { } output
            && output.Name.StartsWith("Probability", StringComparison.Ordinal);
        var now = timeProvider.GetUtcNow();
        var from = TrafficWindow.HourOf(now - length);
        var kept = await store.ListPredictionsAsync(deployment, from, now, MaxPredictions + 1, cancellationToken);
        var predictions = kept.Take(MaxPredictions).Where(p => p.Model == model && p.Version == wanted).ToList();
        var hours = predictions.GroupBy(p => TrafficWindow.HourOf(p.Time)).OrderBy(g => g.Key)
            .Select(g => new PerformanceHour(g.Key, Measure([.. g], binary), binary ? Estimate([.. g]) : null)).ToList();
        return (new PerformanceReport(deployment, model, wanted, binary ? "binary" : "regression", window, from, now, kept.Count > MaxPredictions,
            Measure(predictions, binary), binary ? Estimate(predictions) : null, hours), null);
    }

    private static PerformanceFigures Measure(List<LoggedPrediction> predictions, bool binary)
    {
        var labelled = predictions.Where(p => p.Label is not null).ToList();
        if (labelled.Count == 0)
        {
            return new PerformanceFigures(predictions.Count, 0, null, null, null);
        }

        var scores = labelled.Select(p => p.Value).ToList();
        if (!binary)
        {
            return new PerformanceFigures(predictions.Count, labelled.Count, null, null,
                PerformanceMetrics.RootMeanSquaredError(scores, [.. labelled.Select(p => p.Label!.Value)]));
        }

        var truth = labelled.Select(p => p.Label!.Value >= Threshold).ToList();
        var auc = truth.Distinct().Count() == 2 ? PerformanceMetrics.RocAuc(scores, truth) : (double?)null;
        return new PerformanceFigures(predictions.Count, labelled.Count, auc, PerformanceMetrics.Accuracy(scores.Select(s => s >= Threshold).ToList(), truth), null);
    }

    private static PerformanceEstimate Estimate(List<LoggedPrediction> predictions)
    {
        if (predictions.Count == 0)
        {
            return new PerformanceEstimate("cbpe", 0, null, null);
        }

        var scores = predictions.Select(p => Math.Clamp(p.Value, 0, 1)).ToList();
        return new PerformanceEstimate("cbpe", predictions.Count, ConfidenceBasedPerformance.ExpectedAccuracy(scores, Threshold),
            ConfidenceBasedPerformance.ExpectedRocAuc(scores));
    }
}
