using EdgeGreen.Shared.Datasets;
namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>One version of a dataset: its bytes (by SHA-256 in the content store) and their schema.</summary>
public sealed record DatasetVersionRecord(
    string Name,
    int Version,
    string Sha256,
    long SizeBytes,
    long Rows,
    IReadOnlyList<DatasetColumn> Columns,
    DateTimeOffset CreatedAt);

public interface IDatasetStore
{
    /// <summary>
    /// Adds the bytes as the next version of the named dataset, or returns the version that already
    /// holds the same bytes (<c>Created</c> false): the same content is the same version.
    /// </summary>
    Task<(DatasetVersionRecord Version, bool Created)> AddVersionAsync(string name, string sha256, long sizeBytes, long rows,
        IReadOnlyList<DatasetColumn> columns, DateTimeOffset createdAt, CancellationToken cancellationToken);

    /// <summary>Every version of the dataset, oldest first; empty when there is no such dataset.</summary>
    Task<IReadOnlyList<DatasetVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>The latest version of each dataset, by name.</summary>
    Task<IReadOnlyList<DatasetVersionRecord>> ListLatestAsync(CancellationToken cancellationToken);

    /// <summary>Some version holding these bytes, under any name; null when none does.</summary>
    Task<DatasetVersionRecord?> FindByShaAsync(string sha256, CancellationToken cancellationToken);
}
