namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Turns references in a submission's parameters into the exact things the job will use (a
/// dataset name into its version and hash, a model reference into its artifact), adding them to the
/// parameters, or names the parameter that refers to nothing. Runs after the kind's own validation.
/// </summary>
public interface IJobParameterResolver
{
    Task ResolveAsync(string kind, Dictionary<string, string> parameters, Dictionary<string, string[]> errors, CancellationToken cancellationToken);
}
