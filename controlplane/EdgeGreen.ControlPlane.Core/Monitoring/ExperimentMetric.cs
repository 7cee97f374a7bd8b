namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>What an experiment compares between its arms.</summary>
public enum ExperimentMetric
{
    /// <summary>The mean of a continuous metric (latency, a score, revenue); its variance is estimated from the sums of squares.</summary>
    Mean,

    /// <summary>A rate of 0/1 outcomes (conversion, error); its variance is p(1 − p).</summary>
    Proportion,
}
