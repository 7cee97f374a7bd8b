using EdgeGreen.Shared.Jobs;
using EdgeGreen.Shared.Datasets;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Datasets;

/// <summary>Settings of <c>EdgeGreen:Datasets</c>.</summary>
public sealed class DatasetOptions
{
    public const string SectionName = "EdgeGreen:Datasets";

    /// <summary>The largest CSV accepted.</summary>
    public long MaxBytes { get; set; } = 512L << 20;

    /// <summary>Register the bundled sample (UCI credit card default) as <c>uci-credit-card</c> at start when absent.</summary>
    public bool SeedSample { get; set; } = true;
}

/// <summary>
/// Datasets: CSV bytes stored once by SHA-256, each named version with its inferred schema. The
/// bytes are checked completely (parsed, schema inferred) before anything is stored; bad input
/// changes nothing.
/// </summary>
public sealed class DatasetCatalog(ContentStore content, IDatasetStore store, IOptions<DatasetOptions> options, TimeProvider clock)
{
    public const string SampleName = "uci-credit-card";

    public long MaxBytes => options.Value.MaxBytes;

    /// <summary>Stores the CSV as the next version of <paramref name="name"/>, or finds the version that holds the same bytes.</summary>
    /// <exception cref="DatasetRejectedException">The name or the content is not acceptable; nothing was stored.</exception>
    public async Task<(DatasetVersionRecord Version, bool Created)> AddAsync(string? name, Stream csv, CancellationToken cancellationToken, long? maxBytes = null)
    {
        if (!ResourceNames.IsValid(name))
        {
            throw new DatasetRejectedException("name", "name is required: " + ResourceNames.Rule);
        }

        StagedContent staged;
        try
        {
            staged = await content.StageAsync(csv, maxBytes ?? options.Value.MaxBytes, cancellationToken);
        }
        catch (ContentTooLargeException ex)
        {
            throw new DatasetRejectedException("body", ex.Message);
        }

        using (staged)
        {
            IReadOnlyList<DatasetColumn> columns;
            long rows;
            try
            {
                (columns, rows) = DatasetSchema.Infer(staged.Path);
            }
            catch (InvalidDataException ex)
            {
                throw new DatasetRejectedException("body", ex.Message);
            }

            content.Commit(staged);
            return await store.AddVersionAsync(name, staged.Sha256, staged.SizeBytes, rows, columns, clock.GetUtcNow(), cancellationToken);
        }
    }
}

/// <summary>A dataset upload refused, with the field at fault and why.</summary>
public sealed class DatasetRejectedException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Registers the bundled sample dataset once, right after start: in the background, so that
/// hashing and parsing 30,000 rows never delays the control plane's readiness.
/// </summary>
public sealed partial class SampleDatasetSeeder(DatasetCatalog catalog, IDatasetStore store, IOptions<DatasetOptions> options, ILogger<SampleDatasetSeeder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SeedAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or DatasetRejectedException or StorageException)
        {
            LogSeedFailed(ex);
        }
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv");
        if (!options.Value.SeedSample || (await store.ListVersionsAsync(DatasetCatalog.SampleName, cancellationToken)).Count > 0)
        {
            return;
        }

        if (!File.Exists(path))
        {
            LogSampleMissing(path);
            return;
        }

        // The sample is ours: the upload limit, meant for callers, does not apply to it.
        await using var csv = File.OpenRead(path);
        var (version, _) = await catalog.AddAsync(DatasetCatalog.SampleName, csv, cancellationToken, maxBytes: long.MaxValue);
        LogSeeded(version.Name, version.Rows, version.Sha256);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Registering the sample dataset failed")]
    private partial void LogSeedFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered the sample dataset {Name}: {Rows} rows, sha256 {Sha256} (UCI credit card default, CC BY 4.0)")]
    private partial void LogSeeded(string name, long rows, string sha256);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sample dataset is missing from {Path}; it is not registered")]
    private partial void LogSampleMissing(string path);
}
