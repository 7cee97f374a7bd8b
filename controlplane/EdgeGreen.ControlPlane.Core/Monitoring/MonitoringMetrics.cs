using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>The monitoring ingest's Prometheus series: nothing an agent reports is left out without a count.</summary>
public sealed class MonitoringMetrics(IMetricFactory factory)
{
    public Counter Summaries { get; } = factory.CreateCounter("edgegreen_monitoring_summaries_total",
        "Inference summaries agents reported, by outcome: accepted, duplicate (a resend), rejected (malformed, or for a deployment that is gone).", ["outcome"])
        .WithSeries(["accepted", "duplicate", "rejected"]);

    public Counter FeaturesDropped { get; } = factory.CreateCounter("edgegreen_monitoring_features_dropped_total",
        "Features of accepted summaries left out: not in the version's reference profile, or with counts that do not fit its bins.");

    public Counter Inferences { get; } = factory.CreateCounter("edgegreen_monitoring_inferences_total",
        "Inferences covered by accepted summaries, by deployment.", ["deployment"]);
}
