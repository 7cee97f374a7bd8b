using System.Globalization;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Datasets;

/// <summary>Resolves a job's <c>dataset</c> parameter to a stored version.</summary>
public sealed class DatasetParameterResolver(IDatasetStore store) : IJobParameterResolver
{
    /// <summary>
    /// Pins a job's <c>dataset</c> (a name for its latest version, or name:version) to the exact
    /// bytes it will read: adds <c>datasetVersion</c> and <c>datasetSha256</c>, and checks that the
    /// columns the job names (<c>label</c>, <c>features</c>, <c>ignore</c>) are in it.
    /// </summary>
    public async Task ResolveAsync(string kind, Dictionary<string, string> parameters, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if (!parameters.ContainsKey("dataset") || errors.ContainsKey("parameters.dataset"))
        {
            return;
        }

        var reference = parameters["dataset"];
        var separator = reference.LastIndexOf(':');
        var name = separator > 0 ? reference[..separator] : reference;
        int? version = separator > 0 && int.TryParse(reference[(separator + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        var versions = await store.ListVersionsAsync(name, cancellationToken);
        var found = version is { } wanted ? versions.FirstOrDefault(x => x.Version == wanted) : versions.LastOrDefault();
        if (found is null || (separator > 0 && version is null))
        {
            errors["parameters.dataset"] = [$"'{reference}' is not a dataset version; see GET /api/v1/datasets."];
            return;
        }

        var columns = found.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var key in new[] { "label", "features", "ignore" })
        {
            var missing = parameters.GetValueOrDefault(key, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(c => !columns.Contains(c)).ToList();
            if (missing.Count > 0)
            {
                errors[$"parameters.{key}"] = [$"{found.Name} version {found.Version} has no column {string.Join(", ", missing.Select(m => $"'{m}'"))}."];
            }
        }

        parameters["dataset"] = found.Name;
        parameters["datasetVersion"] = found.Version.ToString(CultureInfo.InvariantCulture);
        parameters["datasetSha256"] = found.Sha256;
    }
}
