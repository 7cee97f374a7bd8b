namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>What the kinds that run a registered model over a dataset (batch-infer, evaluate, profile) share.</summary>
internal static class ModelJobs
{
    /// <summary>The parameters the control plane adds when it resolves <c>model</c> and <c>dataset</c>.</summary>
    public static readonly string[] Resolved = ["modelSha256", "modelName", "modelVersion", "datasetSha256", "datasetVersion"];

    /// <summary>Checks <c>model</c>, <c>dataset</c> (as the kind uses one) and that no parameter is unknown to <paramref name="kind"/>.</summary>
    public static Dictionary<string, string> Validate(string kind, IReadOnlyDictionary<string, string> parameters, IReadOnlyCollection<string> own,
        DatasetUse dataset = DatasetUse.Required)
    {
        var takesDataset = dataset != DatasetUse.None;
        var errors = new Dictionary<string, string>();
        if (!parameters.TryGetValue("model", out var model) || !model.StartsWith("models:/", StringComparison.Ordinal))
        {
            errors["model"] = "model is required: models:/NAME/VERSION or models:/NAME@ALIAS.";
        }

        if (dataset == DatasetUse.Required ? string.IsNullOrWhiteSpace(parameters.GetValueOrDefault("dataset"))
            : dataset == DatasetUse.Optional && parameters.TryGetValue("dataset", out var named) && string.IsNullOrWhiteSpace(named))
        {
            errors["dataset"] = "dataset is required: a dataset name, or name:version.";
        }

        bool Known(string key) => key == "model" || own.Contains(key)
            || (Resolved.Contains(key) && (takesDataset || key.StartsWith("model", StringComparison.Ordinal)))
            || (takesDataset && key == "dataset");
        foreach (var key in parameters.Keys.Where(k => !Known(k)))
        {
            errors[key] = $"{kind} does not take '{key}'.";
        }

        return errors;
    }

    /// <summary>
    /// Validates, starts attributing the agent process's CPU time to the job (ONNX Runtime and
    /// ML.NET run on threads of their own inside the agent; see TrainJob), and fetches the model
    /// and the dataset (when the job names one; the path is null otherwise) into the job's
    /// directory, verified by their hashes.
    /// </summary>
    public static async Task<(string ModelPath, string? CsvPath, IDisposable Tracking)> PrepareAsync(
        IJobKind kind, JobExecution execution, CancellationToken cancellationToken)
    {
        JobKinds.ThrowIfInvalid(kind, execution.Parameters);

        var parameters = execution.Parameters;
        if (execution.Artifacts is null || !parameters.TryGetValue("modelSha256", out var modelSha)
            || (parameters.ContainsKey("dataset") && !parameters.ContainsKey("datasetSha256")))
        {
            throw new InvalidOperationException("The control plane did not resolve the model and the dataset (modelSha256, datasetSha256).");
        }

        var tracking = execution.Cpu.TrackProcess(Environment.ProcessId);
        execution.ReportPhase(parameters.ContainsKey("dataset") ? "fetching model and dataset" : "fetching model");
        var modelPath = Path.Combine(execution.WorkDirectory, "model.onnx");
        await execution.Artifacts.DownloadAsync(modelSha, modelPath, cancellationToken);
        if (!parameters.TryGetValue("datasetSha256", out var dataSha))
        {
            return (modelPath, null, tracking);
        }

        var csvPath = Path.Combine(execution.WorkDirectory, "input.csv");
        await execution.Artifacts.DownloadAsync(dataSha, csvPath, cancellationToken);
        return (modelPath, csvPath, tracking);
    }
}

/// <summary>Whether a model kind reads a dataset.</summary>
public enum DatasetUse
{
    Required,
    Optional,
    None,
}
