using System.Globalization;
using EdgeGreen.Shared.Datasets;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// <c>train</c>: fits an ML.NET model on a dataset, exports it to ONNX and checks that ONNX Runtime
/// predicts what ML.NET predicts on held-out rows (<see cref="TabularTrainer"/>), then uploads the
/// ONNX file. Parameters (all scalars): <c>dataset</c> (name, or name:version; the control plane
/// adds <c>datasetSha256</c>), <c>label</c>, <c>task</c> (binary | multiclass | regression),
/// <c>trainer</c> (fasttree | lightgbm | sdca, default fasttree), <c>features</c> and
/// <c>ignore</c> (comma-separated column names; default features: every column but the label and
/// the ignored), <c>validationFraction</c> (default 0.2), <c>registerAs</c> (a model name), and
/// <c>hyperparameters.NAME</c> for each trainer option set (e.g. <c>hyperparameters.numberOfTrees</c>).
/// </summary>
public sealed class TrainJob : IJobKind
{

    public JobKind Spec => JobKinds.Train;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        Spec.ThrowIfInvalid(execution.Parameters);

        if (execution.Artifacts is null || !execution.Parameters.TryGetValue("datasetSha256", out var sha))
        {
            throw new InvalidOperationException("The control plane did not resolve the dataset (datasetSha256 is missing).");
        }

        // ML.NET trains on the runtime's shared threads, which cannot be told apart from the agent's
        // own: the job is attributed the agent process's CPU time while it runs (see the README).
        using var tracked = execution.Cpu.TrackProcess(Environment.ProcessId);
        execution.ReportPhase("fetching dataset");
        var csv = Path.Combine(execution.WorkDirectory, "dataset.csv");
        await execution.Artifacts.DownloadAsync(sha, csv, cancellationToken);
        execution.ReportProgress(0.05);

        var (columns, _) = DatasetSchema.Infer(csv);
        var spec = TrainingSpec.From(execution.Parameters, columns);
        var onnx = Path.Combine(execution.WorkDirectory, "model.onnx");
        var result = await Task.Run(() => new TabularTrainer(spec, execution.ReportProgress, execution.ReportPhase).Train(csv, onnx, cancellationToken), cancellationToken);

        var output = execution.Output;
        output.Metrics.Add(result.Metrics);
        output.Details.Add(result.Details);
        output.Inputs.Add(result.Inputs);
        output.Outputs.Add(result.Outputs);
        output.Status = result.VerificationProblem is null ? "READY" : "FAILED";
        output.StatusMessage = result.VerificationProblem ?? "";
        if (result.VerificationProblem is null)
        {
            execution.ReportPhase("uploading model");
            var (artifact, size) = await execution.Artifacts.UploadAsync(onnx, cancellationToken);
            (output.ArtifactSha256, output.ArtifactSizeBytes) = (artifact, size);
        }

        execution.ReportProgress(1);
    }
}

/// <summary>What to train: the task, the trainer, the label and feature columns with their types.</summary>
public sealed record TrainingSpec(
    string Task,
    string Trainer,
    DatasetColumn Label,
    IReadOnlyList<DatasetColumn> Features,
    IReadOnlyList<DatasetColumn> AllColumns,
    double ValidationFraction,
    int Seed,
    IReadOnlyDictionary<string, string> Hyperparameters)
{
    public static TrainingSpec From(IReadOnlyDictionary<string, string> parameters, IReadOnlyList<DatasetColumn> columns)
    {
        var byName = columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var labelName = parameters["label"];
        var label = byName.GetValueOrDefault(labelName) ?? throw new ArgumentException($"The dataset has no column '{labelName}' (label).");
        var ignore = List(parameters.GetValueOrDefault("ignore"));
        var features = parameters.TryGetValue("features", out var named)
            ? List(named).Select(f => byName.GetValueOrDefault(f) ?? throw new ArgumentException($"The dataset has no column '{f}' (features).")).ToList()
            : columns.Where(c => c.Name != labelName && !ignore.Contains(c.Name)).ToList();
        if (features.Count == 0)
        {
            throw new ArgumentException("No feature columns are left.");
        }

        var task = parameters["task"];
        if (task == "binary" && label.Type != DatasetSchema.Boolean)
        {
            throw new ArgumentException($"A binary task needs a boolean label (0/1, true/false); '{labelName}' is {label.Type}.");
        }

        if (task == "regression" && label.Type == DatasetSchema.Categorical)
        {
            throw new ArgumentException($"A regression task needs a numeric label; '{labelName}' is categorical.");
        }

        return new TrainingSpec(task, parameters.GetValueOrDefault("trainer", "fasttree"), label, features, columns,
            double.Parse(parameters.GetValueOrDefault("validationFraction", "0.2"), CultureInfo.InvariantCulture),
            int.Parse(parameters.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture),
            parameters.Where(p => p.Key.StartsWith(TrainerCatalog.HyperparameterPrefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key[TrainerCatalog.HyperparameterPrefix.Length..], p => p.Value));
    }

    private static HashSet<string> List(string? text) =>
        [.. (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
