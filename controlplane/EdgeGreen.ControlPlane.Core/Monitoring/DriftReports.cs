using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>One feature's drift over a window: the chosen test first, every applicable one in <see cref="Tests"/>.</summary>
public sealed record FeatureDrift(
    string Name,
    string Kind,
    string Method,
    double? Score,
    double Threshold,
    bool Drifted,
    long ReferenceCount,
    long CurrentCount,
    double? ReferenceMean,
    double? CurrentMean,
    IReadOnlyList<DriftResult> Tests);

public sealed record DriftReference(string Dataset, int? Version, long Rows);

/// <summary>
/// A deployed version's served traffic over a window against its reference. The window is
/// hour-aligned: it covers the hours of the store's sums that overlap [now − window, now).
/// </summary>
public sealed record DriftReport(
    string Deployment,
    string Model,
    int Version,
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    DriftReference Reference,
    long Requests,
    long Inferences,
    IReadOnlyList<FeatureDrift> Features,
    FeatureDrift? Prediction,
    int DriftedFeatures,
    bool DatasetDrift);

/// <summary>Drift of a deployment's traffic against its version's reference, from the hourly sums.</summary>
public sealed class DriftReports(IDeploymentStore deployments, IModelStore models, IMonitoringStore store, ReferenceProfiles profiles, TimeProvider timeProvider)
{
    /// <summary>The windows a report covers, as the API names them.</summary>
    public static readonly IReadOnlyDictionary<string, TimeSpan> Windows = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["PT1H"] = TimeSpan.FromHours(1),
        ["P1D"] = TimeSpan.FromDays(1),
        ["P7D"] = TimeSpan.FromDays(7),
    };

    /// <summary>The tests each kind of feature gets; the first is the default.</summary>
    public static readonly IReadOnlyList<string> NumericMethods = ["psi", "ks", "wasserstein"];

    public static readonly IReadOnlyList<string> CategoricalMethods = ["psi", "chisquare"];

    /// <summary>Evidently's dataset drift: at least this share of the features drifted.</summary>
    public const double DatasetDriftShare = 0.5;

    /// <summary>The report, or why there is none (<see cref="MonitoringProblem"/>).</summary>
    public async Task<(DriftReport? Report, MonitoringProblem? Problem)> ComputeAsync(string deployment, string window, int? version, string? method,
        CancellationToken cancellationToken)
    {
        if (!Windows.TryGetValue(window, out var length))
        {
            return (null, new MonitoringProblem("window", $"window must be one of {string.Join(", ", Windows.Keys)}.", NotFound: false));
        }

        if (method is not null && !NumericMethods.Concat(CategoricalMethods).Contains(method, StringComparer.Ordinal))
        {
            return (null, new MonitoringProblem("method", "method must be psi, ks, wasserstein or chisquare.", NotFound: false));
        }

        if (await deployments.GetAsync(deployment, cancellationToken) is not { } record)
        {
            return (null, new MonitoringProblem("name", $"No deployment is named '{deployment}'.", NotFound: true));
        }

        var wanted = version ?? record.Current.Version;
        var model = version is null ? record.Current.Model : record.Current.Version == wanted ? record.Current.Model : record.Previous?.Model ?? record.Current.Model;
        if (await models.GetVersionAsync(model, wanted, cancellationToken) is not { } modelVersion)
        {
            return (null, new MonitoringProblem("version", $"{model} has no version {wanted}.", NotFound: true));
        }

        if (await profiles.GetAsync(modelVersion, cancellationToken) is not { } reference)
        {
            return (null, new MonitoringProblem("version",
                $"{model} version {wanted} has no reference to compare with: its lineage names no training dataset whose columns it takes (a model uploaded as a file has none).",
                NotFound: false));
        }

        var now = timeProvider.GetUtcNow();
        var from = TrafficWindow.HourOf(now - length);
        var hours = (await store.ListHoursAsync(deployment, from, now, cancellationToken)).Where(h => h.Model == model && h.Version == wanted).ToList();
        var traffic = hours.Count == 0 ? null : hours.Skip(1).Aggregate(hours[0], (sum, hour) => sum.Merge(hour));
        var features = reference.Inputs.Select(f => Drift(f, traffic?.Inputs.FirstOrDefault(c => c.Name == f.Name), method)).ToList();
        var prediction = reference.Outputs.Select(f => Drift(f, traffic?.Outputs.FirstOrDefault(c => c.Name == f.Name), method)).FirstOrDefault();
        var drifted = features.Count(f => f.Drifted);
        var compared = features.Count(f => f.Score is not null);
        return (new DriftReport(deployment, model, wanted, window, from, now, new DriftReference(reference.Dataset, reference.DatasetVersion, reference.Rows),
            traffic?.Requests ?? 0, traffic?.Inferences ?? 0, features, prediction, drifted, compared > 0 && drifted >= DatasetDriftShare * compared), null);
    }

    private static FeatureDrift Drift(MonitoredFeature feature, FeatureCounts? counts, string? method)
    {
        var binning = feature.Binning;
        var methods = binning.IsNumeric ? NumericMethods : CategoricalMethods;
        var chosen = method is not null && methods.Contains(method, StringComparer.Ordinal) ? method : methods[0];
        var referenceMean = binning.IsNumeric ? feature.Reference.Moments.Mean : (double?)null;
        if (counts is null || counts.Counts.Sum() == 0)
        {
            return new FeatureDrift(feature.Name, Kind(binning), chosen, null, Threshold(chosen), false, feature.Reference.Total, 0, referenceMean, null, []);
        }

        var moments = binning.IsNumeric && counts.Count > 0
            ? new NumericMoments(counts.Count, counts.Sum, counts.SumOfSquares, counts.Min, counts.Max)
            : NumericMoments.Empty;
        var current = FeatureHistogram.FromCounts(binning, counts.Counts, counts.Missing, moments);
        var tests = methods.Select(m => Test(m, feature.Reference, current)).ToList();
        var primary = tests.First(t => t.Method == chosen);
        return new FeatureDrift(feature.Name, Kind(binning), primary.Method, primary.Score, primary.Threshold, primary.Drifted, feature.Reference.Total, current.Total,
            referenceMean, binning.IsNumeric ? current.Moments.Mean : null, tests);
    }

    private static DriftResult Test(string method, FeatureHistogram reference, FeatureHistogram current) => method switch
    {
        "psi" => DriftScores.Psi(reference, current),
        "ks" => DriftScores.KolmogorovSmirnov(reference, current),
        "wasserstein" => DriftScores.Wasserstein(reference, current),
        _ => DriftScores.ChiSquare(reference, current),
    };

    private static double Threshold(string method) => method switch
    {
        "psi" => DriftScores.PsiThreshold,
        "wasserstein" => DriftScores.WassersteinThreshold,
        _ => DriftScores.PValueThreshold,
    };

    private static string Kind(FeatureBinning binning) => binning.IsNumeric ? "numeric" : "categorical";
}

/// <summary>Why a monitoring request cannot be answered: a bad parameter (400), something missing (404), or a version without a reference (409).</summary>
public sealed record MonitoringProblem(string Field, string Message, bool NotFound)
{
    /// <summary>The request conflicts with the state (409): a name taken, a change in progress.</summary>
    public bool Conflict { get; init; }
}
