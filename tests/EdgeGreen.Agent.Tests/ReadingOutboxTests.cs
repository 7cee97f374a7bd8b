using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent.Tests;

public sealed class ReadingOutboxTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-outbox-").FullName;

    [Fact]
    public void Open_NewFile_HasEveryCollectionBeforeAnythingIsWritten()
    {
        // None may come into being while senders poll them (ReadingOutbox.CreateCollections says why).
        using var outbox = Open();

        Assert.Equal(ReadingOutbox.Collections.Order(StringComparer.Ordinal), outbox.Database.GetCollectionNames().Order(StringComparer.Ordinal));
        Assert.Equal(0, outbox.Depth);
    }

    [Fact]
    public void Append_NumbersReadingsInOrder_AndReadAfterReturnsThem()
    {
        using var outbox = Open();

        outbox.Append("s", Deltas(3));
        outbox.Append("s", Deltas(2));

        Assert.Equal(5, outbox.LastSequence);
        Assert.Equal(5, outbox.Depth);
        Assert.Equal([3L, 4L, 5L], outbox.ReadAfter(2, 10).Select(r => r.Sequence));
        Assert.Equal([1L, 2L], outbox.ReadAfter(0, 2).Select(r => r.Sequence));
    }

    /// <summary>
    /// LiteDB 5.0.21 keeps a compiled expression for good for each distinct value given to its
    /// <c>Query.LTE</c> and the like: an agent acknowledging a new sequence every second grew without
    /// end. Counted in LiteDB's own process-wide cache as the new expressions that carry no parameter
    /// (a value written into the expression): other tests running meanwhile compile their own query
    /// shapes, a handful; a leak adds one per acknowledgement.
    /// </summary>
    [Fact]
    public void Acknowledge_ThousandsOfDistinctSequences_KeepLiteDbsCompiledExpressionsBounded()
    {
        using var outbox = Open();
        outbox.Append("s", Deltas(10));
        outbox.Acknowledge(1);
        var before = CompiledExpressions();

        for (var sequence = 2; sequence <= 1_000; sequence++)
        {
            outbox.Append("s", Deltas(1));
            outbox.Acknowledge(sequence);
        }

        Assert.InRange(CompiledExpressions().Except(before).Count(source => !source.Contains('@')), 0, 50);

        static HashSet<string> CompiledExpressions() => [.. ((System.Collections.IDictionary)typeof(LiteDB.BsonExpression)
            .GetField("_cacheScalar", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!).Keys.Cast<string>()];
    }

    [Fact]
    public void Acknowledge_DeletesOnlyUpToTheDurableSequence()
    {
        using var outbox = Open();
        outbox.Append("s", Deltas(10));

        var deleted = outbox.Acknowledge(6);

        Assert.Equal(6, deleted);
        Assert.Equal(4, outbox.Depth);
        Assert.Equal(7, outbox.ReadAfter(0, 1).Single().Sequence);
    }

    [Fact]
    public void Reopen_KeepsPendingReadingsAndNeverReusesSequences()
    {
        using (var outbox = Open())
        {
            outbox.Append("s", Deltas(5));
            outbox.Acknowledge(5);
        }

        using var reopened = Open();
        Assert.Equal(0, reopened.Depth);
        var appended = reopened.Append("s", Deltas(1));
        Assert.Equal(6, appended.Single().Sequence);
    }

    [Fact]
    public void Reopen_PreservesReadingValuesExactly()
    {
        var delta = new EnergyDelta("gpu0", Start.AddTicks(1234567), TimeSpan.FromTicks(9_876_543), 12.345678901234, EnergyProvenance.Measured);
        using (var outbox = Open())
        {
            outbox.Append("nvml", [delta]);
        }

        using var reopened = Open();
        var reading = reopened.ReadAfter(0, 10).Single();
        Assert.Equal("nvml", reading.SensorId);
        Assert.Equal(delta, reading.Delta);
    }

    [Fact]
    public void Append_BeyondBound_DropsOldestAndCountsThem()
    {
        var registry = Metrics.NewCustomRegistry();
        using var outbox = Open(maxReadings: 1_000, registry);

        outbox.Append("s", Deltas(900));
        outbox.Append("s", Deltas(250));

        Assert.Equal(1_000, outbox.Depth);
        Assert.Equal(150, outbox.Dropped);
        Assert.Equal(151, outbox.ReadAfter(0, 1).Single().Sequence);
        Assert.Equal(1_150, outbox.LastSequence);
        Assert.Contains("edgegreen_agent_outbox_dropped_total 150", MetricsText.Scrape(registry), StringComparison.Ordinal);
    }

    [Fact]
    public void Append_DropsReadingsInFlight_CountsOnlyThoseTheControlPlaneNeverStored()
    {
        var registry = Metrics.NewCustomRegistry();
        using var outbox = Open(maxReadings: 1_000, registry);
        outbox.Append("s", Deltas(1_000));
        Assert.True(outbox.MarkSent(outbox.ReadAfter(0, 300)));

        // 500 dropped: 1..300 were sent (in doubt), 301..500 never were (lost now).
        outbox.Append("s", Deltas(500));
        Assert.Equal(200, outbox.Dropped);
        Assert.Equal(300, outbox.DroppedInFlight);

        // The control plane stored the first 120 of the in-flight ones; then the stream breaks and
        // a new one resumes at 120: 121..300 never arrived.
        outbox.Acknowledge(120);
        Assert.Equal(180, outbox.DroppedInFlight);
        outbox.Resume(120);

        Assert.Equal(380, outbox.Dropped);
        Assert.Equal(0, outbox.DroppedInFlight);
        var metrics = MetricsText.Scrape(registry);
        Assert.Contains("edgegreen_agent_outbox_dropped_total 380", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_outbox_dropped_in_flight 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_AtOrAboveDroppedInFlight_CountsNothingLost()
    {
        using var outbox = Open(maxReadings: 1_000);
        outbox.Append("s", Deltas(1_000));
        Assert.True(outbox.MarkSent(outbox.ReadAfter(0, 1_000)));
        outbox.Append("s", Deltas(100));

        outbox.Resume(1_000);

        Assert.Equal(0, outbox.Dropped);
        Assert.Equal(0, outbox.DroppedInFlight);
    }

    [Fact]
    public void MarkSent_ReadingsDroppedSinceTheyWereRead_MarksNothing()
    {
        using var outbox = Open(maxReadings: 1_000);
        outbox.Append("s", Deltas(1_000));
        var read = outbox.ReadAfter(0, 100);

        outbox.Append("s", Deltas(10));

        Assert.False(outbox.MarkSent(read));
        Assert.Equal(10, outbox.Dropped);
        Assert.True(outbox.MarkSent(outbox.ReadAfter(0, 100)));
    }

    [Fact]
    public void Reopen_KeepsDroppedInFlightUntilTheNextStreamSettlesIt()
    {
        using (var outbox = Open(maxReadings: 1_000))
        {
            outbox.Append("s", Deltas(1_000));
            Assert.True(outbox.MarkSent(outbox.ReadAfter(0, 50)));
            outbox.Append("s", Deltas(50));
        }

        using var reopened = Open(maxReadings: 1_000);
        Assert.Equal(50, reopened.DroppedInFlight);

        reopened.Resume(20);

        Assert.Equal(30, reopened.Dropped);
        Assert.Equal(0, reopened.DroppedInFlight);
    }

    [Fact]
    public void EnsureSequenceAbove_RecreatedOutbox_ContinuesAfterServerSequence()
    {
        using var outbox = Open();

        outbox.EnsureSequenceAbove(41);

        Assert.Equal(42, outbox.Append("s", Deltas(1)).Single().Sequence);
    }

    [Fact]
    public async Task WaitForReadingsAfter_CompletesWhenAReadingArrives()
    {
        using var outbox = Open();
        var waiting = outbox.WaitForReadingsAfterAsync(0, CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        outbox.Append("s", Deltas(1));

        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Reject_RemovesTheOldestBatchOnly()
    {
        using var outbox = Open();
        outbox.Append("s", Deltas(10));

        Assert.Equal(4, outbox.Reject(afterSequence: 0, count: 4));

        Assert.Equal(5, outbox.ReadAfter(0, 1).Single().Sequence);
        Assert.Equal(6, outbox.Depth);
    }

    [Fact]
    public void Open_FreshDirectory_DirectoryIs0700AndDatabaseAndLog0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var directory = Path.Combine(_directory, "agent-data");
        using (var outbox = Open(directory))
        {
            outbox.Append("s", Deltas(3));

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            foreach (var file in Directory.GetFiles(directory))
            {
                Assert.Equal((file, UnixFileMode.UserRead | UnixFileMode.UserWrite), (file, File.GetUnixFileMode(file)));
            }

            Assert.Contains(Directory.GetFiles(directory), file => file.EndsWith("outbox-log.db", StringComparison.Ordinal));
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static IReadOnlyList<EnergyDelta> Deltas(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new EnergyDelta("cpu.package", Start.AddSeconds(i), TimeSpan.FromSeconds(1), 2.5 + i, EnergyProvenance.Modelled))];

    /// <summary>An outbox over <paramref name="directory"/>, its metrics in <paramref name="registry"/> when given.</summary>
    internal static ReadingOutbox Open(string directory, int maxReadings = 100_000, CollectorRegistry? registry = null)
    {
        var options = Options.Create(new AgentOptions { DataDirectory = directory, Outbox = { MaxReadings = maxReadings } });
        return new ReadingOutbox(options, new AgentMetrics(Metrics.WithCustomRegistry(registry ?? Metrics.NewCustomRegistry())), new LogThrottle(TimeProvider.System), NullLogger<ReadingOutbox>.Instance);
    }

    private ReadingOutbox Open(int maxReadings = 100_000, CollectorRegistry? registry = null) => Open(_directory, maxReadings, registry);
}
