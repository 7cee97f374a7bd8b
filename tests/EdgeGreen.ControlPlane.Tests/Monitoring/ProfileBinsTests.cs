using EdgeGreen.ControlPlane.Core.Monitoring;
using AgentHistogram = EdgeGreen.Agent.Monitoring.FeatureHistogram;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

/// <summary>
/// The profile's bins as agents apply them put every value where the control plane's binning does:
/// the agent's own histogram, its counts mapped back, against <see cref="FeatureBinning.BinOf(double)"/>,
/// at every edge, on either side of it, and out of range.
/// </summary>
public sealed class ProfileBinsTests
{
    public static TheoryData<string> Kinds => ["equal-width", "discrete", "fractional-discrete"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AgentCounts_MappedBack_AreTheControlPlanesBins(string kind)
    {
        var random = new Random(42);
        var reference = kind switch
        {
            "equal-width" => Enumerable.Range(0, 5000).Select(_ => Math.Round(random.NextDouble() * 1000, 1)).ToArray(),
            "discrete" => Enumerable.Range(0, 5000).Select(_ => (double)random.Next(-2, 9)).ToArray(),
            _ => Enumerable.Range(0, 5000).Select(_ => (double)(float)(random.Next(0, 7) * 0.1)).ToArray(),
        };
        var binning = FeatureBinning.ForNumeric(reference);

        // Every edge or value, the doubles just beside them, far outside the range, and random values.
        var anchors = binning.Kind == BinningKind.EqualWidth ? binning.Edges : binning.Values;
        var values = anchors.SelectMany(a => new[] { a, Math.BitDecrement(a), Math.BitIncrement(a), a + 0.05, a - 0.05 })
            .Concat([-1e9, 1e9, anchors[0] - 1, anchors[^1] + 1])
            .Concat(Enumerable.Range(0, 2000).Select(_ => (random.NextDouble() * 1400) - 200))
            .ToList();

        var agent = new AgentHistogram(ProfileBins.ToProto("x", binning));
        foreach (var value in values)
        {
            agent.Add(value);
        }

        var mapped = ProfileBins.FromAgent(binning, agent.ToSummary().Counts);
        Assert.NotNull(mapped);
        Assert.Equal(FeatureHistogram.Of(binning, values).Counts, mapped);
    }

    [Fact]
    public void AgentCounts_Categorical_AreTheControlPlanesBins()
    {
        var binning = FeatureBinning.ForCategorical(["a", "b", "b", "c", "c", "c"]);
        var agent = new AgentHistogram(ProfileBins.ToProto("x", binning));
        string[] served = ["c", "a", "z", "b", "c", "", "unknown"];
        foreach (var value in served)
        {
            agent.Add(new[] { value }, 0, 1);
        }

        Assert.Equal(FeatureHistogram.Of(binning, served.Where(v => v.Length > 0)).Counts, ProfileBins.FromAgent(binning, agent.ToSummary().Counts));
    }

    [Fact]
    public void FromAgent_CountsThatDoNotFitTheBins_AreRefused()
    {
        var binning = FeatureBinning.ForNumeric([1, 2, 3]);
        Assert.Null(ProfileBins.FromAgent(binning, [1, 2]));
        Assert.Equal(7, ProfileBins.AgentBinCount(binning));
    }
}
