namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// A kind of work an agent can run (<c>burn</c>, later training and inference). The control plane
/// validates a submission's parameters with the same kind before it accepts the job, so a job
/// never reaches an agent with parameters it cannot run.
/// </summary>
public interface IJobKind
{
    /// <summary>The name jobs use in their <c>kind</c> field.</summary>
    string Name { get; }

    /// <summary>Problems with the parameters, keyed by parameter name; empty when they are valid.</summary>
    IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters);

    /// <summary>How long the parameters say the job runs, when they say so (a burn's <c>duration</c>).</summary>
    TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters);

    /// <summary>
    /// The cores the parameters say the job keeps busy, when they say so (a burn's or a serve's
    /// <c>threads</c>): what the job reserves when its submission names no <c>resources.cpuCores</c>.
    /// </summary>
    int? ImpliedCpuCores(IReadOnlyDictionary<string, string> parameters) => null;

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
public static class JobKinds
{
    public static IReadOnlyList<IJobKind> BuiltIn { get; } = [new BurnJob(), new Ml.TrainJob(), new Ml.BatchInferJob(), new Ml.EvaluateJob(), new Ml.ProfileJob(), new Ml.ServeJob()];

    public static IJobKind? Find(string name) => BuiltIn.FirstOrDefault(k => k.Name == name);

    /// <summary>
    /// Checks a job's parameters again where it runs (the control plane checked them at
    /// submission): throws <see cref="ArgumentException"/> with every problem when they are invalid.
    /// </summary>
    public static void ThrowIfInvalid(IJobKind kind, IReadOnlyDictionary<string, string> parameters)
    {
        if (kind.Validate(parameters) is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors.Values));
        }
    }
}
