using System.Globalization;
using EdgeGreen.Shared.Jobs;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Registry;

/// <summary>
/// Resolves a job's <c>model</c> parameter (<c>models:/name/3</c>, <c>models:/name@alias</c>) to a
/// READY version when the job is submitted, adding <c>modelName</c>, <c>modelVersion</c> and
/// <c>modelSha256</c>: moving an alias later does not change what a submitted job runs. A
/// <c>serve</c> job without <c>threads</c> gets the thread count of the version's profiled
/// serving recommendation, where it has one.
/// </summary>
public sealed class ModelParameterResolver(ModelRegistry registry) : IJobParameterResolver
{
    public async Task ResolveAsync(string kind, Dictionary<string, string> parameters, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if (!parameters.TryGetValue("model", out var reference) || errors.ContainsKey("parameters.model"))
        {
            return;
        }

        var version = await registry.ResolveAsync(reference, cancellationToken);
        if (version is not { Status: ModelVersionStatus.Ready, Sha256: { } sha })
        {
            errors["parameters.model"] = [version is null
                ? $"'{reference}' names no model version; see GET /api/v1/models."
                : $"{version.Name} version {version.Version} is {version.Status.Name()}, not READY."];
            return;
        }

        parameters["modelName"] = version.Name;
        parameters["modelVersion"] = version.Version.ToString(CultureInfo.InvariantCulture);
        parameters["modelSha256"] = sha;

        // Serving takes the thread count its profile recommends unless the submission names one.
        if (kind == ServeKind.KindName && !parameters.ContainsKey(TimedWork.ThreadsParameter) && version.Serving is { Recommended.Threads: var threads })
        {
            parameters[TimedWork.ThreadsParameter] = threads.ToString(CultureInfo.InvariantCulture);
        }
    }
}
