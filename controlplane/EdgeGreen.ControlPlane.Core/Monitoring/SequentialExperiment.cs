namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// An A/B experiment judged by the mixture sequential probability ratio test (mSPRT) of Johari,
/// Koomen, Pekelis and Walsh, "Always Valid Inference" (the method behind Optimizely's Stats Engine),
/// so that it may be looked at after every summary and stopped at any look without inflating its
/// error rate.
/// <para>
/// The difference of means θ̂ = mean(treatment) − mean(control) is taken as normal with variance
/// V = s²_T/n_T + s²_C/n_C (plug-in variances; p(1 − p) for a proportion). With a normal mixture
/// N(0, τ²) over the true difference, the likelihood ratio against θ = θ₀ is
/// Λ(θ₀) = √(V / (V + τ²)) · exp(τ² (θ̂ − θ₀)² / (2 V (V + τ²))). The always-valid p-value is the
/// running minimum of 1/Λ(0), capped at 1; the confidence sequence at each look is every θ₀ with
/// Λ(θ₀) &lt; 1/α, θ̂ ± √(2V(V + τ²)/τ² · (ln(1/α) + ½ ln((V + τ²)/V))), and the running
/// intersection of them all is reported. Should that intersection ever be empty (possible only through
/// the plug-in variances), the latest interval is kept.
/// </para>
/// <para>
/// The state is the two arms' sums and the running p-value and interval: immutable, updated with each
/// summary as it arrives, and small enough to store after every update.
/// </para>
/// </summary>
public sealed record SequentialExperiment
{
    private SequentialExperiment(ExperimentOptions options) => Options = options;

    public ExperimentOptions Options { get; }

    public ArmSummary Control { get; private init; } = ArmSummary.Empty;

    public ArmSummary Treatment { get; private init; } = ArmSummary.Empty;

    /// <summary>The always-valid p-value for "no difference": the running minimum of 1/Λ(0).</summary>
    public double PValue { get; private init; } = 1;

    /// <summary>The confidence sequence's lower end for treatment − control (−∞ until both arms can be judged).</summary>
    public double Lower { get; private init; } = double.NegativeInfinity;

    public double Upper { get; private init; } = double.PositiveInfinity;

    /// <summary>How many updates changed the p-value and the interval.</summary>
    public int Looks { get; private init; }

    /// <summary>treatment − control, as observed so far.</summary>
    public double Difference => Treatment.Mean - Control.Mean;

    public static SequentialExperiment Start(ExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new SequentialExperiment(options);
    }

    /// <summary>Adds what each arm served since the last update and looks again.</summary>
    public SequentialExperiment Observe(ArmSummary control, ArmSummary treatment)
    {
        RequireValid(control);
        RequireValid(treatment);
        var next = this with { Control = Control.Merge(control), Treatment = Treatment.Merge(treatment) };
        var variance = next.EstimatorVariance();
        if (!(variance > 0))
        {
            // Too few requests, or no spread yet (no conversions at all): nothing to test.
            return next;
        }

        var tau2 = Options.Tau2;
        var difference = next.Difference;
        var logLambda = (0.5 * Math.Log(variance / (variance + tau2))) + (tau2 * difference * difference / (2 * variance * (variance + tau2)));
        var halfWidth = Math.Sqrt(2 * variance * (variance + tau2) / tau2
            * (Math.Log(1 / Options.Alpha) + (0.5 * Math.Log((variance + tau2) / variance))));
        var lower = Math.Max(Lower, difference - halfWidth);
        var upper = Math.Min(Upper, difference + halfWidth);
        if (lower > upper)
        {
            (lower, upper) = (difference - halfWidth, difference + halfWidth);
        }

        return next with
        {
            PValue = Math.Min(PValue, Math.Min(1, Math.Exp(-logLambda))),
            Lower = lower,
            Upper = upper,
            Looks = Looks + 1,
        };
    }

    /// <summary>The same state with each arm's grams CO₂e set, for the decision's carbon allowance (measured apart from the metric).</summary>
    public SequentialExperiment WithCarbon(double controlGrams, double treatmentGrams) =>
        this with { Control = Control with { CarbonGrams = controlGrams }, Treatment = Treatment with { CarbonGrams = treatmentGrams } };

    /// <summary>
    /// The decision at α and the minimum detectable effect: a side is better once the confidence
    /// sequence excludes zero (the same event as p ≤ α), and there is no difference that matters once
    /// it lies wholly inside ±MDE — with chance at least 1 − α the true difference lies in it, so it is
    /// then smaller than the MDE. The carbon allowance, when set, can only turn a better treatment into
    /// <see cref="ExperimentDecision.TreatmentTooCostly"/>; it is compared on the measured grams per
    /// 1,000 requests, whose noise is small beside the metric's.
    /// </summary>
    public ExperimentDecision Decision
    {
        get
        {
            if (Lower > 0 || Upper < 0)
            {
                var treatmentBetter = (Lower > 0) == Options.HigherIsBetter;
                return !treatmentBetter ? ExperimentDecision.ControlBetter
                    : CarbonAllowed() ? ExperimentDecision.TreatmentBetter
                    : ExperimentDecision.TreatmentTooCostly;
            }

            var mde = Options.MinimumDetectableEffect;
            return Lower > -mde && Upper < mde ? ExperimentDecision.NoDifference : ExperimentDecision.Continue;
        }
    }

    /// <summary>V, the variance of the observed difference; NaN until each arm has two requests.</summary>
    internal double EstimatorVariance()
    {
        if (Control.Count < 2 || Treatment.Count < 2)
        {
            return double.NaN;
        }

        return (ArmVariance(Treatment) / Treatment.Count) + (ArmVariance(Control) / Control.Count);
    }

    private double ArmVariance(ArmSummary arm)
    {
        var mean = arm.Mean;
        return Options.Metric == ExperimentMetric.Proportion
            ? mean * (1 - mean)
            : Math.Max(0, (arm.SumOfSquares - (arm.Count * mean * mean)) / (arm.Count - 1));
    }

    private bool CarbonAllowed() =>
        Options.MaxExtraCarbonShare is not { } share
        || Control.CarbonGrams <= 0
        || Treatment.CarbonGramsPerThousand <= Control.CarbonGramsPerThousand * (1 + share);

    private void RequireValid(ArmSummary summary)
    {
        if (summary.Count < 0 || !double.IsFinite(summary.Sum) || !double.IsFinite(summary.SumOfSquares) || summary.SumOfSquares < 0
            || !(summary.CarbonGrams >= 0 && double.IsFinite(summary.CarbonGrams)))
        {
            throw new ArgumentException("A summary needs a count of zero or more and finite sums, carbon zero or more.", nameof(summary));
        }

        if (Options.Metric == ExperimentMetric.Proportion && (summary.Sum < 0 || summary.Sum > summary.Count || summary.SumOfSquares != summary.Sum))
        {
            throw new ArgumentException("A proportion's outcomes are 0 or 1: its successes lie between 0 and the count, its sum of squares equals its sum.", nameof(summary));
        }
    }
}
