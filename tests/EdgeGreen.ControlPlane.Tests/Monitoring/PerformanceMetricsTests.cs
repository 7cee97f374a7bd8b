using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

public sealed class PerformanceMetricsTests
{
    [Fact]
    public void RocAuc_TiedScores_MatchesScikitLearn()
    {
        double[] scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.1, 0.65, 0.5];
        bool[] labels = [false, false, true, true, true, false, true, false, true, false];

        // sklearn.metrics.roc_auc_score on the same pairs.
        Assert.Equal(0.8, PerformanceMetrics.RocAuc(scores, labels), 12);
    }

    [Fact]
    public void RocAuc_AllScoresTied_IsOneHalf()
    {
        Assert.Equal(0.5, PerformanceMetrics.RocAuc([0.3, 0.3, 0.3], [true, false, true]), 12);
    }

    [Fact]
    public void RocAuc_OneClass_Throws()
    {
        Assert.Throws<ArgumentException>(() => PerformanceMetrics.RocAuc([0.1, 0.2], [true, true]));
    }

    [Fact]
    public void Accuracy_ThreeOfFourRight_IsThreeQuarters()
    {
        Assert.Equal(0.75, PerformanceMetrics.Accuracy(["a", "b", "a", "c"], ["a", "b", "b", "c"]));
    }

    [Fact]
    public void RootMeanSquaredError_KnownErrors_IsTheirRootMeanSquare()
    {
        // Errors 1, −2, 2: mean square 3.
        Assert.Equal(Math.Sqrt(3), PerformanceMetrics.RootMeanSquaredError([2, 0, 5], [1, 2, 3]), 14);
    }

    [Fact]
    public void Accuracy_LengthsDiffer_Throws()
    {
        Assert.Throws<ArgumentException>(() => PerformanceMetrics.Accuracy([1, 2], [1]));
    }
}
