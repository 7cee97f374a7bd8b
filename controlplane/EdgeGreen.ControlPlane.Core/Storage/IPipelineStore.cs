using EdgeGreen.ControlPlane.Core.Pipelines;

namespace EdgeGreen.ControlPlane.Core.Storage;

public interface IPipelineStore
{
    /// <summary>
    /// Stores the definition as the pipeline's next version, or returns the latest version when it
    /// holds the same definition (<c>Created</c> false): putting the same definition twice is one version.
    /// </summary>
    Task<(PipelineVersion Version, bool Created)> AddVersionAsync(string name, PipelineDefinition definition, string source, string sourceContentType,
        DateTimeOffset createdAt, CancellationToken cancellationToken);

    /// <summary>Every version of the pipeline, oldest first; empty when there is no such pipeline.</summary>
    Task<IReadOnlyList<PipelineVersion>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>The latest version of each pipeline, by name.</summary>
    Task<IReadOnlyList<PipelineVersion>> ListLatestAsync(CancellationToken cancellationToken);

    Task AddRunAsync(PipelineRun run, CancellationToken cancellationToken);

    Task<PipelineRun?> GetRunAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the stored run when its revision is <paramref name="run"/>'s minus one; false (and
    /// nothing changed) when another writer got there first or the run does not exist.
    /// </summary>
    Task<bool> UpdateRunAsync(PipelineRun run, CancellationToken cancellationToken);

    /// <summary>The pipeline's runs, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<PipelineRun>> ListRunsAsync(string pipeline, int limit, CancellationToken cancellationToken);

    /// <summary>Every run that has not finished (what the runner works on).</summary>
    Task<IReadOnlyList<PipelineRun>> ListActiveRunsAsync(CancellationToken cancellationToken);

    /// <summary>Records a succeeded step's outputs under its cache key (a later entry for the same key replaces it).</summary>
    Task PutCacheEntryAsync(PipelineCacheEntry entry, CancellationToken cancellationToken);

    Task<PipelineCacheEntry?> FindCacheEntryAsync(string key, CancellationToken cancellationToken);

    /// <summary>Every cache entry, in key order (for copying the store).</summary>
    Task<IReadOnlyList<PipelineCacheEntry>> ListCacheEntriesAsync(CancellationToken cancellationToken);
}
