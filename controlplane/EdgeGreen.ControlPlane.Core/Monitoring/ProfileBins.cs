using EdgeGreen.Contracts.V1;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// The monitoring profile's bins as agents apply them (<see cref="FeatureBins"/>: ascending edges
/// whose first and last bins are open, or categories and "other") for each kind of
/// <see cref="FeatureBinning"/>, and the agents' counts back in the binning's own bin order. The
/// translation is exact: every value an agent bins lands where <see cref="FeatureBinning.BinOf(double)"/>
/// puts it.
/// <list type="bullet">
/// <item>Equal width, edges e0…ek: the agent's boundaries are e0, e1, …, e(k−1) and the double just
/// above ek, since numpy's last bin holds its right edge; bins map one to one.</item>
/// <item>Per value, v0…v(n−1): boundaries vi and the double just above it, for every i; the odd bins
/// hold exactly one value each, the even ones (below, between and above them) are "other".</item>
/// <item>Categorical: the categories as they are, then "other".</item>
/// </list>
/// </summary>
public static class ProfileBins
{
    public static FeatureBins ToProto(string name, FeatureBinning binning)
    {
        ArgumentNullException.ThrowIfNull(binning);
        var bins = new FeatureBins { Name = name };
        switch (binning.Kind)
        {
            case BinningKind.Categorical:
                bins.Categories.Add(binning.Categories);
                break;
            case BinningKind.EqualWidth:
                List<double> boundaries = [.. binning.Edges.Take(binning.Edges.Length - 1), Math.BitIncrement(binning.Edges[^1])];
                bins.Edges.Add(Outer(boundaries));
                break;
            default:
                bins.Edges.Add(Outer([.. binning.Values.SelectMany(v => new[] { v, Math.BitIncrement(v) })]));
                break;
        }

        return bins;
    }

    /// <summary>How many counts an agent sends for the binning.</summary>
    public static int AgentBinCount(FeatureBinning binning)
    {
        ArgumentNullException.ThrowIfNull(binning);
        return binning.Kind == BinningKind.Discrete ? (2 * binning.Values.Length) + 1 : binning.BinCount;
    }

    /// <summary>The agent's counts in the binning's bin order; null when there are not <see cref="AgentBinCount"/> of them.</summary>
    public static long[]? FromAgent(FeatureBinning binning, IReadOnlyList<ulong> counts)
    {
        ArgumentNullException.ThrowIfNull(binning);
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count != AgentBinCount(binning) || counts.Any(c => c > long.MaxValue / 4))
        {
            return null;
        }

        if (binning.Kind != BinningKind.Discrete)
        {
            return [.. counts.Select(c => (long)c)];
        }

        var mapped = new long[binning.BinCount];
        for (var i = 0; i < counts.Count; i++)
        {
            mapped[i % 2 == 1 ? (i - 1) / 2 : binning.Values.Length] += (long)counts[i];
        }

        return mapped;
    }

    /// <summary>Agents bin by the boundaries between the outer two edges; those two only close the list.</summary>
    private static List<double> Outer(List<double> boundaries) => [Math.BitDecrement(boundaries[0]), .. boundaries, Math.BitIncrement(boundaries[^1])];
}
