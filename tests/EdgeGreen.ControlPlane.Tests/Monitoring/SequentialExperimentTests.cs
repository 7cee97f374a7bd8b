using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

public sealed class SequentialExperimentTests
{
    [Fact]
    public void Observe_TwoProportions_GivesTheHandComputedPValueAndInterval()
    {
        // 10 % vs 13 % of 1,000 each, τ = 0.01: V = 0.1·0.9/1000 + 0.13·0.87/1000 = 2.031e-4,
        // 1/Λ = √((V + τ²)/V) · exp(−τ²·0.03² / (2V(V + τ²))), computed apart in numpy.
        var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01))
            .Observe(new ArmSummary(1000, 100, 100), new ArmSummary(1000, 130, 130));

        Assert.Equal(2.031e-4, experiment.EstimatorVariance(), 15);
        Assert.Equal(0.588124496124422, experiment.PValue, 12);
        Assert.Equal(-0.03272786398144774, experiment.Lower, 12);
        Assert.Equal(0.09272786398144774, experiment.Upper, 12);
        Assert.Equal(ExperimentDecision.Continue, experiment.Decision);
    }

    [Fact]
    public void Observe_ManyLooks_PValueNeverRisesAndIntervalNeverWidens()
    {
        var random = new Random(11);
        var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Mean, MinimumDetectableEffect: 0.2));
        for (var look = 0; look < 200; look++)
        {
            var before = experiment;
            experiment = experiment.Observe(Normals(random, 50, 0), Normals(random, 50, 0.05));

            Assert.True(experiment.PValue <= before.PValue);
            Assert.True(experiment.Lower >= before.Lower && experiment.Upper <= before.Upper);
        }
    }

    [Fact]
    public void Observe_SimulatedExperiments_ConfidenceSequenceHoldsTheTrueDifferenceAtEveryLookAlmostAlways()
    {
        const double trueDifference = 0.3;
        const int experiments = 400;
        var random = new Random(2024);
        var missed = 0;
        for (var e = 0; e < experiments; e++)
        {
            var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Mean, MinimumDetectableEffect: 0.2));
            var everMissed = false;
            for (var look = 0; look < 40; look++)
            {
                experiment = experiment.Observe(Normals(random, 25, 1), Normals(random, 25, 1 + trueDifference));
                everMissed |= trueDifference < experiment.Lower || trueDifference > experiment.Upper;
            }

            missed += everMissed ? 1 : 0;
        }

        // Always valid at α = 0.05 over all 40 looks together; the mixture bound is conservative, so far fewer miss.
        Assert.InRange(missed, 0, experiments * 0.05);
    }

    [Fact]
    public void Decision_LargeEffect_TreatmentBetter_AndReversedWhenLowerIsBetter()
    {
        var options = new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01);
        var control = new ArmSummary(20_000, 2_000, 2_000);
        var treatment = new ArmSummary(20_000, 2_600, 2_600);

        Assert.Equal(ExperimentDecision.TreatmentBetter, SequentialExperiment.Start(options).Observe(control, treatment).Decision);
        Assert.Equal(ExperimentDecision.ControlBetter, SequentialExperiment.Start(options with { HigherIsBetter = false }).Observe(control, treatment).Decision);
        Assert.Equal(ExperimentDecision.ControlBetter, SequentialExperiment.Start(options).Observe(treatment, control).Decision);
    }

    [Fact]
    public void Decision_BetterButTooMuchExtraCarbon_TreatmentTooCostly()
    {
        var options = new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01, MaxExtraCarbonShare: 0.1);
        var control = new ArmSummary(20_000, 2_000, 2_000, CarbonGrams: 100);

        Assert.Equal(ExperimentDecision.TreatmentTooCostly,
            SequentialExperiment.Start(options).Observe(control, new ArmSummary(20_000, 2_600, 2_600, CarbonGrams: 111)).Decision);
        Assert.Equal(ExperimentDecision.TreatmentBetter,
            SequentialExperiment.Start(options).Observe(control, new ArmSummary(20_000, 2_600, 2_600, CarbonGrams: 109)).Decision);
    }

    [Fact]
    public void Decision_NoEffectAndEnoughData_NoDifferenceOnceTheSequenceFitsInsideTheMde()
    {
        var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01))
            .Observe(new ArmSummary(100_000, 10_000, 10_000), new ArmSummary(100_000, 10_010, 10_010));

        Assert.True(experiment.Lower > -0.01 && experiment.Upper < 0.01);
        Assert.Equal(ExperimentDecision.NoDifference, experiment.Decision);
    }

    [Fact]
    public void Observe_NoSpreadYet_LeavesThePValueAtOne()
    {
        var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01))
            .Observe(new ArmSummary(100, 0, 0), new ArmSummary(100, 0, 0));

        Assert.Equal(1, experiment.PValue);
        Assert.Equal(0, experiment.Looks);
        Assert.Equal(ExperimentDecision.Continue, experiment.Decision);
    }

    [Fact]
    public void Observe_ProportionWithMoreSuccessesThanRequests_Throws()
    {
        var experiment = SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Proportion, MinimumDetectableEffect: 0.01));

        Assert.Throws<ArgumentException>(() => experiment.Observe(new ArmSummary(10, 11, 11), ArmSummary.Empty));
    }

    [Fact]
    public void Start_AlphaOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SequentialExperiment.Start(new ExperimentOptions(ExperimentMetric.Mean, 0.1, Alpha: 1.5)));
    }

    private static ArmSummary Normals(Random random, int count, double mean)
    {
        var summary = ArmSummary.Empty;
        for (var i = 0; i < count; i++)
        {
            // Box–Muller.
            summary = summary.Add(mean + (Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())));
        }

        return summary;
    }
}
