using System.Diagnostics;
using EdgeGreen.Agent.Serving;
using Microsoft.ML.OnnxRuntime;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// Online inference: loads a registered model (<c>model</c>: <c>models:/name/3</c> or
/// <c>models:/name@alias</c>, resolved when the job is submitted) and answers Open Inference
/// Protocol (KServe v2) requests for it at <c>/v2/models/{name}[/versions/{version}]</c> for
/// <c>duration</c> (ISO 8601, at most 7 days), on <c>threads</c> intra-op threads (default 1; the
/// control plane fills in the number a <c>profile</c> job recommended for the version). Serving is scheduled and measured like any job: it
/// waits for its window, its energy is the agent process's CPU share while it serves, and its
/// metrics are what it served (<c>requests</c>, <c>inferences</c>, <c>failedRequests</c>,
/// <c>meanLatencyMilliseconds</c>). Progress is the share of the duration gone.
/// </summary>
public sealed class ServeJob(ServedModels models) : IJobKind
{
    /// <summary>A kind that only validates (the control plane's); an agent's serves into its own <see cref="ServedModels"/>.</summary>
    public ServeJob()
        : this(new ServedModels())
    {
    }

    public JobKind Spec => JobKinds.Serve;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        Spec.ThrowIfInvalid(execution.Parameters);

        var parameters = execution.Parameters;
        if (execution.Artifacts is null || !parameters.TryGetValue("modelSha256", out var sha)
            || !parameters.TryGetValue("modelName", out var name) || !parameters.TryGetValue("modelVersion", out var version))
        {
            throw new InvalidOperationException("The control plane did not resolve the model (modelName, modelVersion, modelSha256).");
        }

        using var tracking = execution.Cpu.TrackProcess(Environment.ProcessId);
        execution.ReportPhase("fetching model");
        var path = Path.Combine(execution.WorkDirectory, "model.onnx");
        await execution.Artifacts.DownloadAsync(sha, path, cancellationToken);

        using var options = InferenceProviders.Options(execution.InferenceProvider, TimedWork.Threads(parameters));
        using var session = new InferenceSession(path, options);
        var model = new ServedModel(name, version, session);
        var duration = Spec.ImpliedDuration(parameters)!.Value;
        try
        {
            using (models.Add(model))
            {
                execution.ReportPhase($"serving /v2/models/{name}/versions/{version}");
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < duration)
                {
                    execution.ReportProgress(clock.Elapsed / duration);
                    var left = duration - clock.Elapsed;
                    if (left > TimeSpan.Zero)
                    {
                        await Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), cancellationToken);
                    }
                }
            }
        }
        finally
        {
            // No request may still be running when the session is disposed.
            model.Close();
            var metrics = execution.Output.Metrics;
            metrics["requests"] = model.Requests;
            metrics["inferences"] = model.Inferences;
            metrics["failedRequests"] = model.FailedRequests;
            metrics["meanLatencyMilliseconds"] = model.MeanLatencyMilliseconds;
        }

        execution.ReportProgress(1);
    }
}
