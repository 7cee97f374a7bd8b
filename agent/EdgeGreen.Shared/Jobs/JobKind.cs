namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// A kind of work an agent can run, as far as both sides must agree on it: its name and what its
/// parameters mean. The control plane validates a submission with the same kind before it
/// accepts the job, and the agent checks again where it runs, so a job never reaches an agent
/// with parameters it cannot run.
/// </summary>
public abstract class JobKind
{
    /// <summary>The name jobs use in their <c>kind</c> field.</summary>
    public abstract string Name { get; }

    /// <summary>Problems with the parameters, keyed by parameter name; empty when they are valid.</summary>
    public abstract IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters);

    /// <summary>How long the parameters say the job runs, when they say so (a burn's <c>duration</c>).</summary>
    public virtual TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters) => null;

    /// <summary>
    /// The cores the parameters say the job keeps busy, when they say so (a burn's or a serve's
    /// <c>threads</c>): what the job reserves when its submission names no <c>resources.cpuCores</c>.
    /// </summary>
    public virtual int? ImpliedCpuCores(IReadOnlyDictionary<string, string> parameters) => null;

    /// <summary>
    /// Checks a job's parameters again where it runs (the control plane checked them at
    /// submission): throws <see cref="ArgumentException"/> with every problem when they are invalid.
    /// </summary>
    public void ThrowIfInvalid(IReadOnlyDictionary<string, string> parameters)
    {
        if (Validate(parameters) is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors.Values));
        }
    }
}

/// <summary>The job kinds EdgeGreen knows.</summary>
public static class JobKinds
{
    public static BurnKind Burn { get; } = new();

    public static TrainKind Train { get; } = new();

    public static BatchInferKind BatchInfer { get; } = new();

    public static EvaluateKind Evaluate { get; } = new();

    public static ProfileKind Profile { get; } = new();

    public static ServeKind Serve { get; } = new();

    public static IReadOnlyList<JobKind> All { get; } = [Burn, Train, BatchInfer, Evaluate, Profile, Serve];

    public static JobKind? Find(string name) => All.FirstOrDefault(k => k.Name == name);
}
