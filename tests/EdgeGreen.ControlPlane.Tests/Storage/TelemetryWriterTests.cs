using System.Collections.Concurrent;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// The group-commit writer over a real LiteDB store: a stream's batches queue behind each other
/// while earlier ones commit, and a failed commit must fail the stream's later batches unstored,
/// or the agent's durable sequence would pass readings that were never stored.
/// </summary>
public sealed class TelemetryWriterTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddHours(-1);

    private readonly TempDirectory _temp = new();
    private LiteDbDatabase _database = null!;
    private FailingStore _store = null!;
    private TelemetryWriter _writer = null!;

    public async Task InitializeAsync()
    {
        _database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = _temp.Path }));
        _store = new FailingStore(new LiteDbTelemetryStore(_database));
        await StartWriterAsync(new TelemetryOptions());
    }

    public async Task DisposeAsync()
    {
        await StopWriterAsync();
        _database.Dispose();
        _temp.Dispose();
    }

    private async Task StartWriterAsync(TelemetryOptions options)
    {
        _writer = new TelemetryWriter(_store, Options.Create(options), Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), NullLogger<TelemetryWriter>.Instance);
        await _writer.StartAsync(CancellationToken.None);
    }

    private async Task StopWriterAsync()
    {
        await _writer.StopAsync(CancellationToken.None);
        _writer.Dispose();
    }

    [Fact]
    public async Task A_failed_commit_fails_the_later_batches_of_its_stream_without_storing_them()
    {
        var chain = new BatchChain();
        var first = await SubmitHeldAsync(chain);
        // Queued while the first commit is under way: the next group.
        var second = await _writer.SubmitAsync(Batch("a1", 11, 20), chain, CancellationToken.None);
        var otherStream = await _writer.SubmitAsync(Batch("b2", 1, 5), new BatchChain(), CancellationToken.None);
        _store.FailHeldCommit(new StorageException(StorageFault.Unavailable, "injected"));

        await Assert.ThrowsAsync<StorageException>(() => first.WaitAsync(Wait));
        var refused = await Assert.ThrowsAsync<StorageException>(() => second.WaitAsync(Wait));
        Assert.Equal("injected", refused.Message);
        Assert.Equal(5, (await otherStream.WaitAsync(Wait)).DurableSequence);
        Assert.Equal(0, await _store.GetDurableSequenceAsync("a1", CancellationToken.None));

        // The agent resends from its durable sequence on a new stream: everything is stored once.
        var resent = new BatchChain();
        var again = await Task.WhenAll(
            await _writer.SubmitAsync(Batch("a1", 1, 10), resent, CancellationToken.None),
            await _writer.SubmitAsync(Batch("a1", 11, 20), resent, CancellationToken.None)).WaitAsync(Wait);
        Assert.Equal([10L, 20L], again.Select(r => r.DurableSequence));
        Assert.Equal(20, (await _store.GetSummaryAsync("a1", CancellationToken.None))!.ReadingCount);
    }

    [Fact]
    public async Task Batches_of_one_stream_queued_together_are_stored_in_order_and_answered_each()
    {
        var chain = new BatchChain();
        var first = await SubmitHeldAsync(chain);
        var queued = new List<Task<AppendResult>>();
        for (var start = 11; start <= 91; start += 10)
        {
            queued.Add(await _writer.SubmitAsync(Batch("a1", start, start + 9), chain, CancellationToken.None));
        }

        _store.ReleaseHeldCommit();
        Assert.Equal(10, (await first.WaitAsync(Wait)).DurableSequence);
        var results = await Task.WhenAll(queued).WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(2, 9).Select(i => i * 10L), results.Select(r => r.DurableSequence));
        Assert.All(results, r => Assert.Equal((10, 0), (r.Accepted, r.Duplicates)));
        // The nine queued batches went in one commit after the held one.
        Assert.Equal(2, _store.Commits);
    }

    [Fact]
    public async Task With_concurrent_commits_another_agent_commits_while_one_agents_commit_is_held_and_each_keeps_its_order()
    {
        await StopWriterAsync();
        await StartWriterAsync(new TelemetryOptions { ConcurrentCommits = 4 });
        Assert.Equal(4, _writer.Lanes);
        var other = Enumerable.Range(0, 100).Select(i => $"b{i}").First(id => _writer.LaneOf(id) != _writer.LaneOf("a1"));
        var chain = new BatchChain();
        var first = await SubmitHeldAsync(chain);
        var next = await _writer.SubmitAsync(Batch("a1", 11, 20), chain, CancellationToken.None);

        // The other lane commits while a1's lane waits on its held commit.
        Assert.Equal(5, (await (await _writer.SubmitAsync(Batch(other, 1, 5), new BatchChain(), CancellationToken.None)).WaitAsync(Wait)).DurableSequence);
        Assert.False(first.IsCompleted);
        Assert.False(next.IsCompleted);

        _store.ReleaseHeldCommit();
        Assert.Equal(10, (await first.WaitAsync(Wait)).DurableSequence);
        Assert.Equal((20L, 10), ((await next.WaitAsync(Wait)).DurableSequence, (await next).Accepted));
        Assert.Equal(20, (await _store.GetSummaryAsync("a1", CancellationToken.None))!.ReadingCount);
    }

    [Theory]
    [InlineData(null, new[] { 1, 256, 44 })]
    [InlineData(100, new[] { 1, 100, 100, 100 })]
    public async Task A_group_commit_takes_at_most_the_stores_own_number_of_batches_or_the_configured_one(int? configured, int[] expectedCommitSizes)
    {
        await StopWriterAsync();
        await StartWriterAsync(new TelemetryOptions { MaxBatchesPerCommit = configured });
        var first = await SubmitHeldAsync(new BatchChain());
        // 300 agents queue behind the held commit.
        var queued = new List<Task<AppendResult>>();
        for (var i = 0; i < 300; i++)
        {
            queued.Add(await _writer.SubmitAsync(Batch($"b{i}", 1, 1), new BatchChain(), CancellationToken.None));
        }

        _store.ReleaseHeldCommit();
        await first.WaitAsync(Wait);
        Assert.All(await Task.WhenAll(queued).WaitAsync(Wait), r => Assert.Equal(1, r.DurableSequence));
        Assert.Equal(expectedCommitSizes, _store.CommitSizes);
    }

    /// <summary>Submits a1's readings 1-10 on <paramref name="chain"/> and waits until their commit is held in the store.</summary>
    private async Task<Task<AppendResult>> SubmitHeldAsync(BatchChain chain)
    {
        _store.HoldNextCommit();
        var first = await _writer.SubmitAsync(Batch("a1", 1, 10), chain, CancellationToken.None);
        Assert.True(await _store.Held.WaitAsync(Wait));
        return first;
    }

    private static TelemetryBatch Batch(string agentId, long first, long last) => new(agentId, "ES",
        [.. Enumerable.Range((int)first, (int)(last - first + 1))
            .Select(i => new ReadingRecord(i, T0.AddSeconds(i), TimeSpan.FromSeconds(1), "s", "cpu.package", 2.5, ReadingProvenance.Modelled))],
        T0.AddMinutes(1));

    /// <summary>The real store, with the next commit held until the test lets it pass or fail.</summary>
    private sealed class FailingStore(ITelemetryStore inner) : ITelemetryStore
    {
        private TaskCompletionSource<Exception?>? _next;
        private TaskCompletionSource<Exception?>? _holding;
        private readonly SemaphoreSlim _held = new(0);

        private readonly ConcurrentQueue<int> _commitSizes = new();

        public int Commits => _commitSizes.Count;

        /// <summary>How many batches each commit took, in order.</summary>
        public int[] CommitSizes => [.. _commitSizes];

        public int MaxBatchesPerCommit => inner.MaxBatchesPerCommit;

        public SemaphoreSlim Held => _held;

        public void HoldNextCommit() => _next = _holding = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseHeldCommit() => _holding!.SetResult(null);

        public void FailHeldCommit(Exception failure) => _holding!.SetResult(failure);

        public async Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken)
        {
            _commitSizes.Enqueue(batches.Count);
            if (Interlocked.Exchange(ref _next, null) is { } hold)
            {
                _held.Release();
                if (await hold.Task is { } failure)
                {
                    throw failure;
                }
            }

            return await inner.AppendAsync(batches, cancellationToken);
        }

        public Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken) => inner.GetDurableSequenceAsync(agentId, cancellationToken);

        public Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken) => inner.GetSummaryAsync(agentId, cancellationToken);

        public Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken) => inner.ListSummariesAsync(cancellationToken);

        public IAsyncEnumerable<EnergyBucket> ReadAgentAsync(string agentId, string? domain, TelemetryTier tier, DateTimeOffset from, DateTimeOffset to,
            CancellationToken cancellationToken) => inner.ReadAgentAsync(agentId, domain, tier, from, to, cancellationToken);

        public IAsyncEnumerable<ReadingRecord> ReadReadingsAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to,
            CancellationToken cancellationToken) => inner.ReadReadingsAsync(agentId, domain, from, to, cancellationToken);

        public IAsyncEnumerable<ZoneBucket> ReadZonesAsync(TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
            inner.ReadZonesAsync(tier, from, to, cancellationToken);

        public Task<RetentionResult> DeleteBeforeAsync(RetentionCutoffs cutoffs, CancellationToken cancellationToken) => inner.DeleteBeforeAsync(cutoffs, cancellationToken);
    }
}
