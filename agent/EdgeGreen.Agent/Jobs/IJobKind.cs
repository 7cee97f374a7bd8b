using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// How this agent runs one kind of job. What the kind's parameters mean is the shared
/// <see cref="Spec"/>, which the control plane checks at submission with the same code.
/// </summary>
public interface IJobKind
{
    JobKind Spec { get; }

    /// <summary>Runs the job to the end; throws <see cref="OperationCanceledException"/> when stopped.</summary>
    Task RunAsync(JobExecution execution, CancellationToken cancellationToken);
}

/// <summary>
/// One run of a job on this agent. <c>CpuCores</c> is what the job reserved; <c>ReportProgress</c>
/// records the share of the work done (0 to 1), which the runner sends on; the job registers the
/// threads, processes or cgroup it runs in on <c>Cpu</c>, so that its energy is attributed by the
/// CPU time they use.
/// </summary>
public sealed record JobExecution(string JobId, IReadOnlyDictionary<string, string> Parameters, int CpuCores, Action<double> ReportProgress, JobCpuUsage Cpu)
{
    /// <summary>Names the phase the job is in (shown with its progress).</summary>
    public Action<string> ReportPhase { get; init; } = _ => { };

    /// <summary>Datasets and artifacts the job fetches and sends.</summary>
    public IArtifacts? Artifacts { get; init; }

    /// <summary>The ONNX Runtime execution provider inference jobs use (<see cref="Ml.InferenceProviders"/>).</summary>
    public string InferenceProvider { get; init; } = Ml.InferenceProviders.Cpu;

    /// <summary>This machine's embodied emissions for SCI's M; null when not configured.</summary>
    public EmbodiedCarbon? Embodied { get; init; }

    /// <summary>The energy attributed to the job so far, in joules (updated at every sampling pass).</summary>
    public Func<double> EnergyJoules { get; init; } = () => 0;

    /// <summary>A directory of the job's own, removed after it ends.</summary>
    public string WorkDirectory { get; init; } = Path.GetTempPath();

    /// <summary>What the job produced, sent with its completion (metrics, an artifact, a status).</summary>
    public Contracts.V1.JobOutput Output { get; } = new();
}

/// <summary>Fetching and sending content-addressed artifacts (the agent's <c>ArtifactTransfer</c>).</summary>
public interface IArtifacts
{
    Task DownloadAsync(string sha256, string path, CancellationToken cancellationToken);

    Task<(string Sha256, long Size)> UploadAsync(string path, CancellationToken cancellationToken);
}

/// <summary>The job kinds built into the agent.</summary>
public static class BuiltInJobs
{
    /// <summary>Every kind but <c>serve</c>, which needs the agent's table of served models.</summary>
    public static IReadOnlyList<IJobKind> Stateless { get; } = [new BurnJob(), new Ml.TrainJob(), new Ml.BatchInferJob(), new Ml.EvaluateJob(), new Ml.ProfileJob()];
}
