using System.Diagnostics;
using EdgeGreen.Agent;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Storage.Postgres;
using EdgeGreen.ControlPlane.Tests.Storage;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace EdgeGreen.ControlPlane.Tests.Faults;

/// <summary>
/// Exactly-once delivery across crashes: a real agent streams without pause while the control
/// plane, a separate process, is killed with SIGKILL at random moments (mid-commit included) and
/// started again over the same data. Afterwards the store holds every reading the agent produced
/// once, none lost and none twice, and the rollups count exactly the raw readings. The last
/// incarnation is killed too, so whatever it acknowledged must have been durable.
/// </summary>
public sealed class CrashTests(PostgresServer postgres, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    private const int Kills = 3;
    private const int ReadingsPerAppend = 10;
    private const string Zone = "NO";
    private static readonly TimeSpan AppendInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public Task KillNine_ThreeTimesMidStream_LiteDb_EveryReadingStoredExactlyOnceAndRollupsMatchRaw() =>
        KillRepeatedlyAsync(new Dictionary<string, string>(), data =>
        {
            var database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = data }));
            return Task.FromResult<(ITelemetryStore, Func<ValueTask>)>((new LiteDbTelemetryStore(database), () =>
            {
                database.Dispose();
                return ValueTask.CompletedTask;
            }));
        }, seed: 1);

    [RequiresProgramFact("initdb")]
    public async Task KillNine_ThreeTimesMidStream_Postgres_EveryReadingStoredExactlyOnceAndRollupsMatchRaw()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await KillRepeatedlyAsync(new Dictionary<string, string>
        {
            ["EdgeGreen__Storage__Provider"] = "Postgres",
            ["ConnectionStrings__EdgeGreen"] = connectionString,
        }, _ =>
        {
            var database = new PostgresDatabase(connectionString);
            return Task.FromResult<(ITelemetryStore, Func<ValueTask>)>((new PostgresTelemetryStore(database), database.DisposeAsync));
        }, seed: 2);
    }

    private async Task KillRepeatedlyAsync(IReadOnlyDictionary<string, string> settings,
        Func<string, Task<(ITelemetryStore Store, Func<ValueTask> Close)>> openStore, int seed)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        using var temp = new TempDirectory();
        await using var controlPlane = new ControlPlaneProcess(temp.Sub("cp"), settings);
        long produced;
        string agentId;
        try
        {
            await controlPlane.StartAsync();
            await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"),
                new Dictionary<string, string?> { ["EdgeGreen:Agent:Zone"] = Zone });
            var acknowledged = agent.Service<AgentMetrics>().ReadingsAcknowledged;

            using var producing = new CancellationTokenSource();
            var producer = Task.Run(async () =>
            {
                while (!producing.IsCancellationRequested)
                {
                    agent.Produce(ReadingsPerAppend);
                    await Task.Delay(AppendInterval, CancellationToken.None);
                }
            }, CancellationToken.None);

            try
            {
                for (var kill = 1; kill <= Kills; kill++)
                {
                    // Each incarnation is seen to store and acknowledge readings before it dies, so
                    // that every kill lands on a live stream rather than on one still reconnecting.
                    var before = acknowledged.Value;
                    await Eventually.WaitUntilAsync(() => agent.Uplink.IsConnected && acknowledged.Value > before, Patience,
                        $"the agent streams to start {controlPlane.Starts} of the control plane");
                    var delay = TimeSpan.FromMilliseconds(random.Next(0, 1_000));
                    await Task.Delay(delay);
                    await controlPlane.KillAsync();
                    output.WriteLine($"{clock.Elapsed:mm\\:ss\\.f} kill {kill}: {delay.TotalMilliseconds} ms into a live stream, {agent.Outbox.LastSequence} readings produced, {agent.Outbox.Depth} not yet acknowledged");
                    await controlPlane.StartAsync();
                    output.WriteLine($"{clock.Elapsed:mm\\:ss\\.f} start {controlPlane.Starts} is ready");
                }

                var afterLastStart = acknowledged.Value;
                await Eventually.WaitUntilAsync(() => acknowledged.Value > afterLastStart, Patience, "the agent streams to the last start");
            }
            finally
            {
                await producing.CancelAsync();
                await producer;
            }

            produced = agent.Outbox.LastSequence;
            output.WriteLine($"{clock.Elapsed:mm\\:ss\\.f} stopped producing");
            await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, Patience, "the outbox is fully acknowledged");
            agentId = agent.Connection.AgentId!;
            output.WriteLine($"{clock.Elapsed:mm\\:ss\\.f} {produced} readings produced; {controlPlane.Starts} starts");
            Assert.Equal(0, agent.Rejected);
            Assert.Equal(0, agent.Outbox.Dropped);
            // Losing the control plane is routine for an agent: warnings and reconnects, never an error.
            Assert.Empty(agent.Errors.Entries);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{ex.Message}\nThe control plane printed:\n{controlPlane.Tail()}", ex);
        }
        finally
        {
            await controlPlane.KillAsync();
        }

        Assert.Equal(Kills + 1, controlPlane.Starts);
        AssertNoErrorLogged(controlPlane.Output);
        var (store, close) = await openStore(controlPlane.DataDirectory);
        try
        {
            await AssertStoredExactlyOnceAsync(store, agentId, produced);
        }
        finally
        {
            await close();
        }
    }

    /// <summary>
    /// Fails on any error the control plane logged. (After every restart the agent's stream, job
    /// watch and heartbeat authenticate at once: this is where LiteDB's lazily built type mappings
    /// once raced, until the LiteDB provider built them all at start.)
    /// </summary>
    private static void AssertNoErrorLogged(IReadOnlyCollection<string> printed)
    {
        var lines = printed.ToList();
        var errors = lines.Select((line, i) => (line, i))
            .Where(l => l.line.StartsWith("fail:", StringComparison.Ordinal) || l.line.StartsWith("crit:", StringComparison.Ordinal))
            .Select(l => string.Join('\n', lines.Skip(l.i).Take(1).Concat(lines.Skip(l.i + 1).TakeWhile(line => line.StartsWith(' ')))))
            .ToList();
        Assert.True(errors.Count == 0, $"The control plane logged errors:\n{string.Join("\n\n", errors)}");
    }

    private static async Task AssertStoredExactlyOnceAsync(ITelemetryStore store, string agentId, long produced)
    {
        var (from, to) = (DateTimeOffset.UnixEpoch, DateTimeOffset.UtcNow.AddDays(1));
        var stored = await store.ReadReadingsAsync(agentId, null, from, to, CancellationToken.None).ToListAsync();
        var sequences = stored.Select(r => r.Sequence).Order().ToList();
        var missing = LongRange(1, produced).Except(sequences).Take(10).ToList();
        var twice = sequences.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).Take(10).ToList();
        Assert.True(missing.Count == 0 && twice.Count == 0,
            $"Of {produced} readings, {sequences.Count} rows are stored; missing (first 10): [{string.Join(", ", missing)}]; stored twice (first 10): [{string.Join(", ", twice)}].");
        Assert.Equal(LongRange(1, produced), sequences);

        var summary = await store.GetSummaryAsync(agentId, CancellationToken.None);
        Assert.NotNull(summary);
        Assert.Equal(produced, summary.DurableSequence);
        Assert.Equal(produced, summary.ReadingCount);
        var rawEnergy = stored.Sum(r => r.EnergyJoules);
        Assert.Equal(rawEnergy, summary.EnergyJoules, 6);

        foreach (var tier in (TelemetryTier[])[TelemetryTier.Minute, TelemetryTier.Hour])
        {
            var buckets = await store.ReadAgentAsync(agentId, null, tier, from, to, CancellationToken.None).ToListAsync();
            Assert.Equal(produced, buckets.Sum(b => b.Readings));
            Assert.Equal(rawEnergy, buckets.Sum(b => b.EnergyJoules), 6);
            Assert.Equal(stored.Sum(r => r.Interval.TotalSeconds), buckets.Sum(b => b.CoveredSeconds), 6);
            var zones = await store.ReadZonesAsync(tier, from, to, CancellationToken.None).ToListAsync();
            Assert.Equal(produced, zones.Where(z => z.Zone == Zone).Sum(z => z.Readings));
        }
    }

    private static IEnumerable<long> LongRange(long first, long count)
    {
        for (var i = 0L; i < count; i++)
        {
            yield return first + i;
        }
    }
}
