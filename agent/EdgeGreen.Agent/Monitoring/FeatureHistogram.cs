using System.Globalization;
using System.Numerics;
using EdgeGreen.Contracts.V1;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>
/// One feature's counts over the bins of its <see cref="FeatureBins"/>, with the moments of the
/// values counted. Numeric bins: edges e0 &lt; … &lt; ek give k bins, bin i holding [e_i, e_(i+1)),
/// except that the first also takes everything below e1 and the last everything from e(k-1) up
/// (out-of-range values still count); NaN is <c>missing</c>. Categorical bins (no edges): one per
/// category and a last one for any other value; a null string, or an empty one the categories do not
/// list, is <c>missing</c>, and a number is looked up by its invariant text (a category code sent as
/// INT64 finds the category "3"). A numeric feature sent as strings reads them as invariant numbers,
/// an unreadable one as missing. Not thread-safe: its monitor adds under its own lock.
/// </summary>
internal sealed class FeatureHistogram
{
    private readonly FeatureBins _bins;
    private readonly double[] _edges;
    private readonly Dictionary<string, int>? _categories;
    private readonly Dictionary<double, int>? _numericCategories;
    private readonly ulong[] _counts;
    private ulong _missing;
    private ulong _count;
    private double _sum;
    private double _sumOfSquares;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    public FeatureHistogram(FeatureBins bins)
    {
        _bins = bins;
        _edges = [.. bins.Edges];
        if (_edges.Length == 0)
        {
            _categories = new Dictionary<string, int>(StringComparer.Ordinal);
            _numericCategories = [];
            for (var i = 0; i < bins.Categories.Count; i++)
            {
                var category = bins.Categories[i];
                _categories.TryAdd(category, i);
                if (double.TryParse(category, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    _numericCategories.TryAdd(number, i);
                }
            }

            _counts = new ulong[bins.Categories.Count + 1];
        }
        else
        {
            _counts = new ulong[_edges.Length - 1];
        }
    }

    public string Name => _bins.Name;

    /// <summary>A histogram with the same bins and nothing counted, for the next window.</summary>
    public FeatureHistogram Empty() => new(_bins);

    /// <summary>The bin of a number; -1 when it is missing.</summary>
    public int Bin(double value)
    {
        if (double.IsNaN(value))
        {
            return -1;
        }

        if (_categories is not null)
        {
            return _numericCategories!.TryGetValue(value, out var index) ? index : _counts.Length - 1;
        }

        // The first interior edge above the value; the outer edges bound nothing.
        int low = 1, high = _edges.Length - 1;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_edges[middle] <= value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low - 1;
    }

    /// <summary>The bin of a string; -1 when it is missing.</summary>
    public int Bin(string? value)
    {
        if (_categories is null)
        {
            return Bin(Parse(value));
        }

        if (value is null)
        {
            return -1;
        }

        return _categories.TryGetValue(value, out var index) ? index : value.Length == 0 ? -1 : _counts.Length - 1;
    }

    /// <summary>Counts the elements at <paramref name="offset"/>, then every <paramref name="stride"/>-th after it.</summary>
    public void Add(Array values, int offset, int stride)
    {
        switch (values)
        {
            case float[] a: AddNumbers(a, offset, stride); break;
            case double[] a: AddNumbers(a, offset, stride); break;
            case sbyte[] a: AddNumbers(a, offset, stride); break;
            case short[] a: AddNumbers(a, offset, stride); break;
            case int[] a: AddNumbers(a, offset, stride); break;
            case long[] a: AddNumbers(a, offset, stride); break;
            case byte[] a: AddNumbers(a, offset, stride); break;
            case ushort[] a: AddNumbers(a, offset, stride); break;
            case uint[] a: AddNumbers(a, offset, stride); break;
            case ulong[] a: AddNumbers(a, offset, stride); break;
            case bool[] a:
                for (var i = offset; i < a.Length; i += stride)
                {
                    Add(a[i] ? 1 : 0);
                }

                break;
            case string[] a:
                for (var i = offset; i < a.Length; i += stride)
                {
                    Count(Bin(a[i]), _categories is null ? Parse(a[i]) : double.NaN);
                }

                break;
            default:
                break;
        }
    }

    public void Add(double value) => Count(Bin(value), value);

    /// <summary>
    /// An element as a sample or the prediction log carries it: a numeric feature's value; a
    /// categorical feature's bin index (the last one for "other"); NaN when missing.
    /// </summary>
    public double Sampled(Array values, int index)
    {
        if (values is string[] strings)
        {
            return _categories is null ? Parse(strings[index]) : Index(Bin(strings[index]));
        }

        var value = values switch
        {
            float[] a => a[index],
            double[] a => a[index],
            sbyte[] a => a[index],
            short[] a => a[index],
            int[] a => a[index],
            long[] a => a[index],
            byte[] a => a[index],
            ushort[] a => a[index],
            uint[] a => a[index],
            ulong[] a => a[index],
            bool[] a => a[index] ? 1 : 0,
            _ => double.NaN,
        };
        return _categories is null ? value : Index(Bin(value));
    }

    public FeatureSummary ToSummary()
    {
        var summary = new FeatureSummary
        {
            Name = _bins.Name,
            Missing = _missing,
            Count = _count,
            Sum = _sum,
            SumOfSquares = _sumOfSquares,
            Min = _count > 0 && _categories is null ? _min : 0,
            Max = _count > 0 && _categories is null ? _max : 0,
        };
        summary.Counts.Add(_counts);
        return summary;
    }

    private void AddNumbers<T>(T[] values, int offset, int stride)
        where T : INumberBase<T>
    {
        for (var i = offset; i < values.Length; i += stride)
        {
            Add(double.CreateTruncating(values[i]));
        }
    }

    /// <summary>
    /// Counts a value in its bin; the moments take finite numeric values only, so that one infinite
    /// input (counted in an outer bin) does not turn a window's mean and variance into NaN. A
    /// categorical value counts in <c>count</c> without moments.
    /// </summary>
    private void Count(int bin, double value)
    {
        if (bin < 0)
        {
            _missing++;
            return;
        }

        _counts[bin]++;
        if (_categories is not null)
        {
            _count++;
        }
        else if (double.IsFinite(value))
        {
            _count++;
            _sum += value;
            _sumOfSquares += value * value;
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
        }
    }

    private static double Index(int bin) => bin < 0 ? double.NaN : bin;

    private static double Parse(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : double.NaN;
}
