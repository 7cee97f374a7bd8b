using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

public sealed class ConfidenceBasedPerformanceTests
{
    private static readonly double[] Scores = [0.9, 0.8, 0.75, 0.6, 0.55, 0.4, 0.3, 0.2, 0.15, 0.05];

    [Fact]
    public void ExpectedRocAuc_CalibratedScores_MatchesNannyMlsEstimate()
    {
        // NannyML's estimate_roc_auc (its own code, with scikit-learn's auc) on these scores.
        Assert.Equal(0.8211561621838619, ConfidenceBasedPerformance.ExpectedRocAuc(Scores), 12);
    }

    [Fact]
    public void ExpectedAccuracy_CalibratedScores_MatchesNannyMlsEstimate()
    {
        Assert.Equal(0.75, ConfidenceBasedPerformance.ExpectedAccuracy(Scores), 12);
    }

    [Fact]
    public void ExpectedRocAuc_LabelsDrawnFromCalibratedScores_IsCloseToTheRealizedAuc()
    {
        var random = new Random(7);
        var scores = Enumerable.Range(0, 20_000).Select(_ => random.NextDouble()).ToArray();
        var labels = scores.Select(p => random.NextDouble() < p).ToArray();

        var estimated = ConfidenceBasedPerformance.ExpectedRocAuc(scores);
        var realized = PerformanceMetrics.RocAuc(scores, labels);

        // Uniform calibrated scores have an expected AUC of 5/6; the realized one lies within its sampling error.
        Assert.Equal(5.0 / 6, estimated, 2);
        Assert.InRange(realized - estimated, -0.015, 0.015);
    }

    [Fact]
    public void ExpectedRocAuc_ScoreOutsideZeroToOne_Throws()
    {
        Assert.Throws<ArgumentException>(() => ConfidenceBasedPerformance.ExpectedRocAuc([0.2, 1.2]));
    }
}
