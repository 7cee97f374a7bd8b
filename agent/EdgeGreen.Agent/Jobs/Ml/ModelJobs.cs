namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>How the kinds that run a registered model over a dataset (batch-infer, evaluate, profile) fetch what they need.</summary>
internal static class ModelJobs
{
        /// <summary>
    /// Validates, starts attributing the agent process's CPU time to the job (ONNX Runtime and
    /// ML.NET run on threads of their own inside the agent; see TrainJob), and fetches the model
    /// and the dataset (when the job names one; the path is null otherwise) into the job's
    /// directory, verified by their hashes.
    /// </summary>
    public static async Task<(string ModelPath, string? CsvPath, IDisposable Tracking)> PrepareAsync(
        IJobKind kind, JobExecution execution, CancellationToken cancellationToken)
    {
        kind.Spec.ThrowIfInvalid(execution.Parameters);

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
