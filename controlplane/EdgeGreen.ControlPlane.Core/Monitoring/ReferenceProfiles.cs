using System.Collections.Concurrent;
using System.Globalization;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared.Datasets;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// The reference profiles of model versions, made from each version's training dataset version
/// (its lineage) and kept in memory: a profile follows from the dataset's bytes and the model's
/// alone, so every replica makes the same one, and one made again after a restart is the same.
/// </summary>
public sealed partial class ReferenceProfiles(ContentStore content, IReferencePredictor predictor, ILogger<ReferenceProfiles> logger)
{
    /// <summary>
    /// Outputs monitored, by the names ML.NET's converter gives them (with or without its
    /// <c>.output</c> suffix): a classifier's probability, else its or a regressor's score.
    /// </summary>
    public static readonly string[] MonitoredOutputs = ["Probability.output", "Probability", "Score.output", "Score"];

    /// <summary>Reference rows read at most: enough for stable bins, bounded for memory.</summary>
    public const int MaxRows = 200_000;

    private readonly ConcurrentDictionary<string, Lazy<Task<ReferenceProfile?>>> _profiles = new(StringComparer.Ordinal);

    /// <summary>
    /// The version's profile, or null when it has none: no training dataset in its lineage, the
    /// dataset's content gone, or no input the model takes is a column of it.
    /// </summary>
    public Task<ReferenceProfile?> GetAsync(ModelVersionRecord version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (version.Lineage is not { Dataset: { } dataset, DatasetSha256: { } datasetSha } || version.Sha256 is null)
        {
            return Task.FromResult<ReferenceProfile?>(null);
        }

        var key = $"{version.Sha256}/{datasetSha}";
        var made = _profiles.GetOrAdd(key, _ => new Lazy<Task<ReferenceProfile?>>(() => MakeAsync(version, dataset, datasetSha, CancellationToken.None)));
        return made.Value.WaitAsync(cancellationToken);
    }

    /// <summary>The profile if it was made already; never waits (the heartbeat path asks this, and starts the making).</summary>
    public ReferenceProfile? TryGet(ModelVersionRecord version)
    {
        var task = GetAsync(version, CancellationToken.None);
        return task.IsCompletedSuccessfully ? task.Result : null;
    }

    private async Task<ReferenceProfile?> MakeAsync(ModelVersionRecord version, string dataset, string datasetSha, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            var columns = ReadColumns(datasetSha, version.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal));
            if (columns is null || columns.Count == 0)
            {
                return null;
            }

            var inputs = new List<MonitoredFeature>();
            var numeric = new Dictionary<string, double[]>(StringComparer.Ordinal);
            foreach (var input in version.Inputs.Where(i => columns.ContainsKey(i.Name)))
            {
                var values = columns[input.Name];
                if (Numbers(values) is { } numbers)
                {
                    // Served inputs arrive as 32-bit floats: the reference is binned as the model sees it.
                    var asServed = numbers.Select(v => double.IsNaN(v) ? v : (double)(float)v).ToArray();
                    var binning = FeatureBinning.ForNumeric(asServed);
                    inputs.Add(new MonitoredFeature(input.Name, binning, FeatureHistogram.Of(binning, asServed)));
                    numeric[input.Name] = asServed;
                }
                else
                {
                    var binning = FeatureBinning.ForCategorical(values.Select(v => v.Length == 0 ? null : v));
                    inputs.Add(new MonitoredFeature(input.Name, binning, FeatureHistogram.Of(binning, values.Select(v => v.Length == 0 ? null : v))));
                }
            }

            var outputs = new List<MonitoredFeature>();
            if (MonitoredOutputs.FirstOrDefault(name => version.Outputs.Any(o => o.Name == name)) is { } output
                && numeric.Count == version.Inputs.Count)
            {
                var predicted = (await predictor.PredictAsync(version.Sha256!, numeric, output, cancellationToken)).ToArray();
                var binning = FeatureBinning.ForNumeric(predicted);
                outputs.Add(new MonitoredFeature(output, binning, FeatureHistogram.Of(binning, predicted)));
            }

            LogMade(version.Name, version.Version, dataset, inputs.Count, outputs.Count);
            return new ReferenceProfile(version.Name, version.Version, dataset, version.Lineage.DatasetVersion, columns.First().Value.Count, inputs, outputs);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or InvalidOperationException)
        {
            LogFailed(ex, version.Name, version.Version, dataset);
            return null;
        }
    }

    /// <summary>The named columns' values (as text), first <see cref="MaxRows"/> rows; null when the content is gone.</summary>
    private Dictionary<string, List<string>>? ReadColumns(string sha256, HashSet<string> wanted)
    {
        if (content.OpenRead(sha256) is not { } stream)
        {
            return null;
        }

        using var parser = DatasetSchema.OpenCsv(stream, out var header);
        var index = DatasetSchema.IndexOf(header).Where(p => wanted.Contains(p.Key)).ToList();
        var columns = index.ToDictionary(p => p.Key, _ => new List<string>(), StringComparer.Ordinal);
        for (var rows = 0; rows < MaxRows && DatasetSchema.ReadRow(parser) is { } fields; rows++)
        {
            foreach (var (name, at) in index)
            {
                columns[name].Add(at < fields.Length ? fields[at] : "");
            }
        }

        return columns;
    }

    /// <summary>The values as numbers (booleans as 0 and 1, empty as NaN), or null when one is text.</summary>
    private static double[]? Numbers(List<string> values)
    {
        var numbers = new double[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            if (value.Length == 0)
            {
                numbers[i] = double.NaN;
            }
            else if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            {
                numbers[i] = number;
            }
            else if (value.ToUpperInvariant() is "TRUE" or "YES" or "FALSE" or "NO")
            {
                numbers[i] = value.ToUpperInvariant() is "TRUE" or "YES" ? 1 : 0;
            }
            else
            {
                return null;
            }
        }

        return numbers;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Monitoring reference for {Model} version {Version}: dataset {Dataset}, {Inputs} inputs and {Outputs} outputs binned")]
    private partial void LogMade(string model, int version, string dataset, int inputs, int outputs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No monitoring reference for {Model} version {Version} from dataset {Dataset}; its traffic is counted but not compared")]
    private partial void LogFailed(Exception exception, string model, int version, string dataset);
}
