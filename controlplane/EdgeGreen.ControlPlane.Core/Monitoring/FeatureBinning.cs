using System.Collections.Immutable;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// The bins of one feature, fixed from the model's reference (training) data, so that every agent
/// summarises served traffic into the same bins and the control plane can add windows up and compare
/// them with the reference.
/// <para>
/// Numeric features follow Evidently's <c>get_binned_data</c> (used by its PSI, KL and Jensen–Shannon
/// tests): a feature with more than 20 distinct reference values gets equal-width bins whose number
/// and edges are numpy's <c>histogram_bin_edges(…, bins="sturges")</c> (⌈range ÷ (range ÷ (log₂ n + 1))⌉
/// bins of equal width between the minimum and the maximum, each bin half-open but the last, which is
/// closed); a feature with at most 20 gets one bin per value. Evidently bins reference and current data
/// together, which an agent that summarises traffic before the control plane sees it cannot do: here
/// the edges come from the reference alone, and two open bins below and above its range catch what
/// numpy's fixed edges would drop, since values outside the training range are exactly the drift to
/// see. Likewise values (or categories) the reference never had share one "other" bin instead of one
/// each, which keeps an agent's summary bounded.
/// </para>
/// </summary>
public sealed class FeatureBinning : IEquatable<FeatureBinning>
{
    /// <summary>Evidently bins a numeric feature by value, not by range, when it has at most this many distinct values.</summary>
    public const int MaxDiscreteValues = 20;

    /// <summary>The categories kept by default; rarer reference categories fall into "other", for reference and current alike.</summary>
    public const int DefaultMaxCategories = 100;

    private const string OtherLabel = "other";

    private FeatureBinning(BinningKind kind, ImmutableArray<double> edges, ImmutableArray<double> values, ImmutableArray<string> categories)
    {
        Kind = kind;
        Edges = edges;
        Values = values;
        Categories = categories;
        BinCount = kind switch
        {
            BinningKind.EqualWidth => edges.Length + 1,
            BinningKind.Discrete => values.Length + 1,
            _ => categories.Length + 1,
        };
    }

    public BinningKind Kind { get; }

    /// <summary>For <see cref="BinningKind.EqualWidth"/>, the k + 1 edges of the k inner bins; bin 0 lies below them and bin k + 1 above.</summary>
    public ImmutableArray<double> Edges { get; }

    /// <summary>For <see cref="BinningKind.Discrete"/>, the reference's values in ascending order; the last bin holds any other value.</summary>
    public ImmutableArray<double> Values { get; }

    /// <summary>For <see cref="BinningKind.Categorical"/>, the reference's categories; the last bin holds any other category.</summary>
    public ImmutableArray<string> Categories { get; }

    public int BinCount { get; }

    public bool IsNumeric => Kind != BinningKind.Categorical;

    /// <summary>Bins a numeric feature from its reference values; NaN values are ignored, infinite ones refused.</summary>
    public static FeatureBinning ForNumeric(IEnumerable<double> reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var values = reference.Where(v => !double.IsNaN(v)).ToArray();
        if (values.Length == 0)
        {
            throw new ArgumentException("The reference holds no numeric value.", nameof(reference));
        }

        if (values.Any(double.IsInfinity))
        {
            throw new ArgumentException("The reference holds an infinite value.", nameof(reference));
        }

        var distinct = values.Distinct().Order().ToImmutableArray();
        if (distinct.Length <= MaxDiscreteValues)
        {
            return new FeatureBinning(BinningKind.Discrete, [], distinct, []);
        }

        return new FeatureBinning(BinningKind.EqualWidth, SturgesEdges(distinct[0], distinct[^1], values.Length), [], []);
    }

    /// <summary>
    /// Bins a categorical feature from its reference values: its <paramref name="maxCategories"/> most
    /// frequent categories (ties by name), and "other" for the rest and for anything new.
    /// </summary>
    public static FeatureBinning ForCategorical(IEnumerable<string?> reference, int maxCategories = DefaultMaxCategories)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCategories, 1);
        var categories = reference.OfType<string>()
            .GroupBy(c => c, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(maxCategories)
            .Select(g => g.Key)
            .ToImmutableArray();
        return categories.Length == 0
            ? throw new ArgumentException("The reference holds no category.", nameof(reference))
            : new FeatureBinning(BinningKind.Categorical, [], [], categories);
    }

    /// <summary>Rebuilds equal-width bins from stored edges (k + 1 finite, strictly increasing).</summary>
    public static FeatureBinning FromEdges(IReadOnlyList<double> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        if (edges.Count < 2 || edges.Any(e => !double.IsFinite(e)) || edges.Zip(edges.Skip(1)).Any(p => p.First >= p.Second))
        {
            throw new ArgumentException("Edges must be at least two finite, strictly increasing values.", nameof(edges));
        }

        return new FeatureBinning(BinningKind.EqualWidth, [.. edges], [], []);
    }

    /// <summary>Rebuilds per-value bins from stored values (finite, strictly increasing).</summary>
    public static FeatureBinning FromValues(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0 || values.Any(v => !double.IsFinite(v)) || values.Zip(values.Skip(1)).Any(p => p.First >= p.Second))
        {
            throw new ArgumentException("Values must be finite and strictly increasing.", nameof(values));
        }

        return new FeatureBinning(BinningKind.Discrete, [], [.. values], []);
    }

    /// <summary>Rebuilds categorical bins from stored categories (distinct).</summary>
    public static FeatureBinning FromCategories(IReadOnlyList<string> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        if (categories.Count == 0 || categories.Distinct(StringComparer.Ordinal).Count() != categories.Count)
        {
            throw new ArgumentException("Categories must be distinct and at least one.", nameof(categories));
        }

        return new FeatureBinning(BinningKind.Categorical, [], [], [.. categories]);
    }

    /// <summary>The bin of a finite numeric value.</summary>
    public int BinOf(double value)
    {
        if (Kind == BinningKind.Categorical || !double.IsFinite(value))
        {
            throw new ArgumentException($"A {Kind} binning cannot place the value {value}.", nameof(value));
        }

        if (Kind == BinningKind.Discrete)
        {
            var at = Values.BinarySearch(value);
            return at >= 0 ? at : Values.Length;
        }

        if (value < Edges[0])
        {
            return 0;
        }

        if (value > Edges[^1])
        {
            return Edges.Length;
        }

        // numpy's bins are [e_i, e_{i+1}) but for the last, which also holds its right edge.
        var found = Edges.BinarySearch(value);
        var inner = found >= 0 ? found : ~found - 1;
        return 1 + Math.Min(inner, Edges.Length - 2);
    }

    /// <summary>The bin of a category.</summary>
    public int BinOf(string category)
    {
        ArgumentNullException.ThrowIfNull(category);
        if (Kind != BinningKind.Categorical)
        {
            throw new ArgumentException($"A {Kind} binning cannot place a category.", nameof(category));
        }

        var at = Categories.IndexOf(category, StringComparer.Ordinal);
        return at >= 0 ? at : Categories.Length;
    }

    /// <summary>True for a bin that exists only to catch what the reference did not hold (out of range, unseen value or category).</summary>
    public bool IsCatchAll(int bin) => Kind == BinningKind.EqualWidth ? bin == 0 || bin == BinCount - 1 : bin == BinCount - 1;

    public string Label(int bin) => Kind switch
    {
        BinningKind.EqualWidth when bin == 0 => $"< {Edges[0]:G6}",
        BinningKind.EqualWidth when bin == BinCount - 1 => $"> {Edges[^1]:G6}",
        BinningKind.EqualWidth => $"[{Edges[bin - 1]:G6}, {Edges[bin]:G6}{(bin == BinCount - 2 ? "]" : ")")}",
        BinningKind.Discrete => bin < Values.Length ? $"{Values[bin]:G6}" : OtherLabel,
        _ => bin < Categories.Length ? Categories[bin] : OtherLabel,
    };

    public bool Equals(FeatureBinning? other) =>
        other is not null && (ReferenceEquals(this, other) || (Kind == other.Kind && Edges.SequenceEqual(other.Edges)
            && Values.SequenceEqual(other.Values) && Categories.SequenceEqual(other.Categories, StringComparer.Ordinal)));

    public override bool Equals(object? obj) => Equals(obj as FeatureBinning);

    public override int GetHashCode() => HashCode.Combine(Kind, BinCount, Edges.FirstOrDefault(), Values.FirstOrDefault(),
        Categories.FirstOrDefault() is { } first ? StringComparer.Ordinal.GetHashCode(first) : 0);

    /// <summary>numpy's <c>histogram_bin_edges(a, bins="sturges")</c> for data between <paramref name="min"/> and <paramref name="max"/>.</summary>
    internal static ImmutableArray<double> SturgesEdges(double min, double max, int count)
    {
        var width = (max - min) / (Math.Log2(count) + 1.0);
        var bins = width > 0 ? (int)Math.Ceiling((max - min) / width) : 1;
        if (min == max)
        {
            min -= 0.5;
            max += 0.5;
        }

        // np.linspace: start + i × step, the last edge set to the stop exactly.
        var step = (max - min) / bins;
        var edges = new double[bins + 1];
        for (var i = 0; i < bins; i++)
        {
            edges[i] = min + (i * step);
        }

        edges[bins] = max;
        return [.. edges];
    }
}
