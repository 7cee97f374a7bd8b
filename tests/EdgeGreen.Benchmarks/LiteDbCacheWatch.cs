using System.Globalization;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using LiteDB;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// LiteDB's page cache as its engine reports it (<c>$database</c>): pages it has allocated
/// (segments are never given back), and how many of them are free, readable, held by open
/// transactions (writable) or in use by readers and the disk writer. Sampled every 50 ms, so that
/// a line also shows the most pages held at once since the line before, which is what makes
/// LiteDB add a segment; a half-minute snapshot alone rarely catches it. Describes nothing for
/// PostgreSQL, whose cache is another process's.
/// </summary>
internal sealed class LiteDbCacheWatch : IAsyncDisposable
{
    private readonly LiteDbDatabase? _database;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private readonly Lock _peakLock = new();
    private (int Writable, int InUse) _peak;
    private volatile string? _failure;

    public LiteDbCacheWatch(IServiceProvider services)
    {
        _database = services.GetService<LiteDbDatabase>();
        _sampling = _database is null ? Task.CompletedTask : SampleAsync(_stop.Token);
    }

    /// <summary>The cache now and the most pages held at once since the last call.</summary>
    public string Describe()
    {
        if (_database is null)
        {
            return "";
        }

        if (Read() is not { } cache || (_sampling.IsCompleted && !_stop.IsCancellationRequested))
        {
            return $"LiteDB cache unavailable: {_failure}; ";
        }

        (int Writable, int InUse) peak;
        lock (_peakLock)
        {
            (peak, _peak) = (_peak, default);
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"LiteDB cache {cache["extendPages"].AsInt32 * 8 / 1024.0:N0} MB ({cache["extendPages"].AsInt32:N0} pages: {cache["freePages"].AsInt32:N0} free, {cache["readablePages"].AsInt32:N0} readable, {cache["writablePages"].AsInt32:N0} writable, {cache["pagesInUse"].AsInt32:N0} in use; most held at once since the last line {peak.Writable + peak.InUse:N0}: {peak.Writable:N0} writable, {peak.InUse:N0} in use); ");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                if (Read() is { } cache)
                {
                    var sample = (cache["writablePages"].AsInt32, cache["pagesInUse"].AsInt32);
                    lock (_peakLock)
                    {
                        if (sample.Item1 + sample.Item2 > _peak.Writable + _peak.InUse)
                        {
                            _peak = sample;
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Reported in every line from now on (peaks stay 0): a sampler that failed must not end the benchmark.
            _failure = $"sampling stopped: {ex.Message}";
        }
    }

    private BsonDocument? Read()
    {
        try
        {
            using var reader = _database!.Database.Execute("SELECT $.cache FROM $database");
            return reader.Read() ? reader.Current["cache"].AsDocument : throw new InvalidOperationException("LiteDB's $database returned nothing.");
        }
        catch (Exception ex) when (ex is LiteException or InvalidOperationException or ObjectDisposedException)
        {
            _failure = ex.Message;
            return null;
        }
    }
}
