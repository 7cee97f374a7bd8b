namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>A registered model as the registry page lists it: its latest version with what that cost to make and to serve.</summary>
public sealed record ModelRow(string Name, IReadOnlyDictionary<string, int> Aliases, ModelVersionRecord? Latest);

/// <summary>One model with every version, oldest first, and the quality metrics its versions report.</summary>
public sealed record ModelDetail(ModelRecord Model, IReadOnlyList<ModelVersionRecord> Versions, IReadOnlyList<string> QualityMetrics)
{
    /// <summary>The aliases naming <paramref name="version"/>, in order.</summary>
    public IReadOnlyList<string> AliasesOf(int version) =>
        [.. Model.Aliases.Where(a => a.Value == version).Select(a => a.Key).Order(StringComparer.Ordinal)];
}

/// <summary>What the model page loaded: the model, or null when there is none by that name.</summary>
public sealed record ModelPage(ModelDetail? Detail);

/// <summary>A version as a point of a comparison chart: x the cost, y the quality metric.</summary>
public sealed record VersionPoint(double X, double Y, int Version, string Label);

/// <summary>A version placed on a comparison: what it costs (lower is better) and its quality metric.</summary>
public sealed record ParetoCandidate(int Version, double Cost, double Quality);

/// <summary>The model registry, read from the store the models API reads.</summary>
public sealed class ModelsData(IModelStore store)
{
    /// <summary>What the registry records beside quality metrics (row counts: rows, unknownLabelRows): not a quality to compare.</summary>
    private static bool NotQuality(string metric) => metric.EndsWith("rows", StringComparison.OrdinalIgnoreCase);

    public async Task<IReadOnlyList<ModelRow>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = new List<ModelRow>();
        foreach (var model in (await store.ListModelsAsync(cancellationToken)).OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var versions = await store.ListVersionsAsync(model.Name, cancellationToken);
            rows.Add(new ModelRow(model.Name, model.Aliases, versions.Count > 0 ? versions[^1] : null));
        }

        return rows;
    }

    /// <summary>The model with its versions, or null when there is no such model.</summary>
    public async Task<ModelDetail?> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (await store.GetModelAsync(name, cancellationToken) is not { } model)
        {
            return null;
        }

        var versions = await store.ListVersionsAsync(name, cancellationToken);
        return new ModelDetail(model, versions, QualityMetrics(versions));
    }

    /// <summary>The quality metrics any version reports, in a stable order.</summary>
    public static IReadOnlyList<string> QualityMetrics(IEnumerable<ModelVersionRecord> versions) =>
        [.. versions.SelectMany(v => v.Metrics.Keys).Where(k => !NotQuality(k)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>Whether a smaller value of the metric is the better one: errors and losses (rmse, mae, mse, logLoss).</summary>
    public static bool LowerIsBetter(string metric) =>
        metric.ToLowerInvariant() is "rmse" or "mae" or "mse" or "mape"
        || metric.Contains("loss", StringComparison.OrdinalIgnoreCase)
        || metric.Contains("error", StringComparison.OrdinalIgnoreCase);

    /// <summary>Energy per 1,000 inferences as the version's serving profile measured it for its recommended configuration.</summary>
    public static double? EnergyPer1kJoules(ModelVersionRecord version) => version.Serving?.Recommended.JoulesPer1kInferences;

    /// <summary>
    /// The Pareto-optimal candidates: those no other candidate dominates, where one dominates another
    /// when it is at least as good on both axes (cost no higher; quality no worse) and strictly better
    /// on one. Quality is better when higher, or when lower with <paramref name="lowerQualityIsBetter"/>
    /// (error metrics). Candidates with equal figures do not dominate each other, so both stay.
    /// Returned by cost, cheapest first.
    /// </summary>
    public static IReadOnlyList<ParetoCandidate> ParetoFront(IEnumerable<ParetoCandidate> candidates, bool lowerQualityIsBetter)
    {
        var all = candidates.Where(c => double.IsFinite(c.Cost) && double.IsFinite(c.Quality)).ToList();
        var sign = lowerQualityIsBetter ? -1 : 1;
        bool Dominates(ParetoCandidate a, ParetoCandidate b)
        {
            var (qa, qb) = (sign * a.Quality, sign * b.Quality);
            return a.Cost <= b.Cost && qa >= qb && (a.Cost < b.Cost || qa > qb);
        }

        return [.. all.Where(c => !all.Any(o => Dominates(o, c))).OrderBy(c => c.Cost).ThenBy(c => c.Version)];
    }
}
