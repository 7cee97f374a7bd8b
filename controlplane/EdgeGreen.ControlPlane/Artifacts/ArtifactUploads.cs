using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Artifacts;

/// <summary>Unfinished artifact uploads (<c>EdgeGreen:Artifacts</c>).</summary>
public sealed class ArtifactOptions
{
    public const string SectionName = "EdgeGreen:Artifacts";

    /// <summary>An unfinished upload not written to for this long is deleted (the agent starts it again).</summary>
    public TimeSpan UnfinishedUploadLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The most bytes all unfinished uploads may hold together; an upload that would pass it is refused with ResourceExhausted.</summary>
    public long MaxUnfinishedUploadBytes { get; set; } = 16L << 30;

    /// <summary>How often expired unfinished uploads are looked for.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>
/// The resumable uploads in progress: one upload of an artifact at a time, all unfinished uploads
/// together within a quota, and those abandoned for longer than their lifetime deleted in the
/// background (counted), so that an agent that vanishes mid-upload leaves nothing behind for good.
/// </summary>
public sealed partial class ArtifactUploads(
    ContentStore content,
    IOptions<ArtifactOptions> options,
    TimeProvider timeProvider,
    IMetricFactory metrics,
    ILogger<ArtifactUploads> logger) : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _uploading = new(StringComparer.Ordinal);

    private readonly Counter _expired = metrics.CreateCounter("edgegreen_artifact_uploads_expired_total",
        "Unfinished artifact uploads deleted after EdgeGreen:Artifacts:UnfinishedUploadLifetime without a write.");

    private readonly Counter _refused = metrics.CreateCounter("edgegreen_artifact_uploads_refused_total",
        "Artifact uploads refused because the unfinished uploads would pass EdgeGreen:Artifacts:MaxUnfinishedUploadBytes.");

    /// <summary>
    /// Claims the upload of <paramref name="sha256"/>, <paramref name="sizeBytes"/> in all (its own
    /// unfinished bytes count within that); dispose the result when the upload call ends.
    /// </summary>
    /// <exception cref="UploadRefusedException">Another upload of it is in progress, or the quota would be passed.</exception>
    public IDisposable Begin(string sha256, long sizeBytes)
    {
        lock (_gate)
        {
            if (_uploading.Contains(sha256))
            {
                throw new UploadRefusedException(quota: false, "Another upload of this artifact is in progress; ask for its status and resume.");
            }

            var others = content.Partials().Where(f => f.Name != Path.GetFileName(content.PartialPath(sha256))).Sum(f => f.Length);
            if (others + sizeBytes > options.Value.MaxUnfinishedUploadBytes)
            {
                _refused.Inc();
                throw new UploadRefusedException(quota: true,
                    $"Other unfinished uploads hold {others} bytes; {sizeBytes} more would pass the limit of {options.Value.MaxUnfinishedUploadBytes} (EdgeGreen:Artifacts:MaxUnfinishedUploadBytes).");
            }

            _uploading.Add(sha256);
        }

        return new Claim(this, sha256);
    }

    /// <summary>Deletes unfinished uploads not written to within their lifetime, except those in progress.</summary>
    /// <returns>How many were deleted.</returns>
    public int Sweep()
    {
        var cutoff = timeProvider.GetUtcNow() - options.Value.UnfinishedUploadLifetime;
        var deleted = 0;
        lock (_gate)
        {
            foreach (var partial in content.Partials().Where(f => f.LastWriteTimeUtc < cutoff.UtcDateTime))
            {
                if (!_uploading.Contains(partial.Name[".partial-".Length..]))
                {
                    partial.Delete();
                    deleted++;
                }
            }
        }

        _expired.Inc(deleted);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, timeProvider);
        do
        {
            try
            {
                if (Sweep() is > 0 and var deleted)
                {
                    LogExpired(deleted, options.Value.UnfinishedUploadLifetime);
                }
            }
            catch (IOException ex)
            {
                LogSweepFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} unfinished artifact uploads not written to for {Lifetime}")]
    private partial void LogExpired(int count, TimeSpan lifetime);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete expired unfinished artifact uploads")]
    private partial void LogSweepFailed(Exception exception);

    private sealed class Claim(ArtifactUploads uploads, string sha256) : IDisposable
    {
        public void Dispose()
        {
            lock (uploads._gate)
            {
                uploads._uploading.Remove(sha256);
            }
        }
    }
}

public sealed class UploadRefusedException(bool quota, string message) : Exception(message)
{
    /// <summary>True when the quota refused it (ResourceExhausted), false when another upload holds it (Aborted).</summary>
    public bool Quota { get; } = quota;
}

public static class ArtifactExtensions
{
    public static IHostApplicationBuilder AddArtifacts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ArtifactOptions>().BindConfiguration(ArtifactOptions.SectionName)
            .Validate(o => o.UnfinishedUploadLifetime > TimeSpan.Zero, "EdgeGreen:Artifacts:UnfinishedUploadLifetime must be positive.")
            .Validate(o => o.MaxUnfinishedUploadBytes > 0, "EdgeGreen:Artifacts:MaxUnfinishedUploadBytes must be positive.")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "EdgeGreen:Artifacts:SweepInterval must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ArtifactUploads>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ArtifactUploads>());
        return builder;
    }
}
