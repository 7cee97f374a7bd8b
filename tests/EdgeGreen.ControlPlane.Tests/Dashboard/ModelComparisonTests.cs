using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Dashboard;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

/// <summary>The model page's Pareto front and the experiment page's interval scale, without a browser.</summary>
public sealed class ModelComparisonTests
{
    [Fact]
    public void ParetoFront_HigherIsBetter_KeepsTheVersionsNoOtherBeatsOnBothCostAndQuality()
    {
        var front = ModelsData.ParetoFront(
        [
            new(1, Cost: 40, Quality: 0.91), // beaten by 2: dearer and worse
            new(2, Cost: 25, Quality: 0.95),
            new(3, Cost: 10, Quality: 0.90), // cheapest
            new(4, Cost: 60, Quality: 0.97), // best
            new(5, Cost: 25, Quality: 0.93), // as cheap as 2 but worse
        ], lowerQualityIsBetter: false);

        Assert.Equal([3, 2, 4], front.Select(c => c.Version));
    }

    [Fact]
    public void ParetoFront_ErrorMetric_LowerQualityIsBetter()
    {
        var candidates = new ParetoCandidate[]
        {
            new(1, Cost: 10, Quality: 0.30),
            new(2, Cost: 20, Quality: 0.20),
            new(3, Cost: 30, Quality: 0.25), // beaten by 2: dearer and a larger error
            new(4, Cost: 40, Quality: 0.10),
        };

        Assert.Equal([1, 2, 4], ModelsData.ParetoFront(candidates, lowerQualityIsBetter: true).Select(c => c.Version));

        // Read as higher-is-better the same figures make a different front: only the cheapest beats the rest.
        Assert.Equal([1], ModelsData.ParetoFront(candidates, lowerQualityIsBetter: false).Select(c => c.Version));
    }

    [Fact]
    public void ParetoFront_EqualFigures_NeitherDominatesSoBothStay_AndNonFiniteOnesAreLeftOut()
    {
        var front = ModelsData.ParetoFront([new(1, 5, 0.9), new(2, 5, 0.9), new(3, double.NaN, 1), new(4, 1, double.PositiveInfinity)], lowerQualityIsBetter: false);

        Assert.Equal([1, 2], front.Select(c => c.Version));
        Assert.Empty(ModelsData.ParetoFront([], lowerQualityIsBetter: true));
    }

    [Theory]
    [InlineData("rmse", true)]
    [InlineData("mae", true)]
    [InlineData("logLoss", true)]
    [InlineData("auc", false)]
    [InlineData("accuracy", false)]
    [InlineData("r2", false)]
    public void LowerIsBetter_ErrorsAndLosses(string metric, bool lower) => Assert.Equal(lower, ModelsData.LowerIsBetter(metric));

    [Fact]
    public void QualityMetrics_AreEveryVersionsButTheRowCount()
    {
        static ModelVersionRecord Version(int number, Dictionary<string, double> metrics) => new(
            "m", number, ModelVersionStatus.Ready, null, DateTimeOffset.UnixEpoch, null, 0, "onnx", [], [], metrics,
            new ModelLineage(null, null, null, null, null, new Dictionary<string, string>()), new ModelSustainability(null, null, null, null), new Dictionary<string, string>());

        Assert.Equal(["accuracy", "auc", "rmse"], ModelsData.QualityMetrics([Version(1, new() { ["auc"] = 0.9, ["rows"] = 10 }), Version(2, new() { ["rmse"] = 1, ["accuracy"] = 0.5 })]));
    }

    [Fact]
    public void IntervalScale_HoldsEveryValueIntervalAndReference_WithAMargin()
    {
        var scale = IntervalScale.For([new("control", 0.2, 0.15, 0.25), new("treatment", 0.35, null, null)], 0);

        Assert.True(scale.Min < 0 && scale.Max > 0.35, $"{scale}");
        Assert.Equal(0, scale.Position(scale.Min, 500), 9);
        Assert.Equal(500, scale.Position(scale.Max, 500), 9);
        Assert.True(scale.Position(0.2, 500) < scale.Position(0.35, 500));

        // Nothing known yet, or a single value: still a scale with some width.
        Assert.Equal(new IntervalScale(0, 1), IntervalScale.For([new("control", null, null, null)]));
        var single = IntervalScale.For([new("control", 3, null, null)]);
        Assert.True(single.Min < 3 && single.Max > 3);
    }
}
