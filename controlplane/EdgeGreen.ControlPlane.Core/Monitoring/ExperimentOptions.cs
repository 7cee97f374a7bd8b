namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// How an A/B experiment is judged.
/// </summary>
/// <param name="Metric">Mean or proportion.</param>
/// <param name="MinimumDetectableEffect">The smallest absolute difference (treatment − control) worth acting on, in the metric's units.</param>
/// <param name="Alpha">The chance of a false "better" over the whole experiment, however often it is looked at.</param>
/// <param name="MixingVariance">
/// τ², the variance of the normal mixture over effect sizes. The test is most powerful for effects of
/// about τ in size, so by default τ is the minimum detectable effect (τ² = MDE²): the mixture is
/// centred where the experimenter said differences start to matter.
/// </param>
/// <param name="HigherIsBetter">False for metrics such as latency or error rate.</param>
/// <param name="MaxExtraCarbonShare">
/// When set, a better treatment is accepted only if its grams CO₂e per 1,000 requests exceed the
/// control's by at most this share (0.1: at most 10 % more).
/// </param>
public sealed record ExperimentOptions(
    ExperimentMetric Metric,
    double MinimumDetectableEffect,
    double Alpha = 0.05,
    double? MixingVariance = null,
    bool HigherIsBetter = true,
    double? MaxExtraCarbonShare = null)
{
    public double Tau2 => MixingVariance ?? (MinimumDetectableEffect * MinimumDetectableEffect);

    public void Validate()
    {
        if (!(Alpha > 0 && Alpha < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must lie strictly between 0 and 1.");
        }

        if (!(MinimumDetectableEffect > 0 && double.IsFinite(MinimumDetectableEffect)))
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumDetectableEffect), MinimumDetectableEffect, "The minimum detectable effect must be positive.");
        }

        if (!(Tau2 > 0 && double.IsFinite(Tau2)))
        {
            throw new ArgumentOutOfRangeException(nameof(MixingVariance), MixingVariance, "The mixing variance must be positive.");
        }

        if (MaxExtraCarbonShare is { } share && !(share >= 0 && double.IsFinite(share)))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxExtraCarbonShare), share, "The extra carbon share must be zero or more.");
        }
    }
}
