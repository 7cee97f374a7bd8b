using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The time-series half of the contract: rollups, zone totals, group commits, retention and the queries built on them.</summary>
public abstract partial class StorageContract
{
    /// <summary>Agent a1's hour buckets over the first day from T0 as (start, energy, readings): what the legacy-data tests of each provider compare.</summary>
    internal static async Task<List<(DateTimeOffset, double, long)>> FirstDayHoursAsync(ITelemetryStore store) =>
        [.. (await store.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(1), CancellationToken.None).ToListAsync())
            .Select(b => (b.Time, b.EnergyJoules, b.Readings))];

    [ContractFact]
    public async Task Rollups_EqualTheRawReadingsTheyCount_InEveryTier()
    {
        var random = new Random(7);
        var readings = Enumerable.Range(1, 3 * 3600).Select(i => new ReadingRecord(i, T0.AddSeconds((i + 2) / 3), TimeSpan.FromSeconds(1), "s",
            (i % 3) switch { 0 => "cpu.package", 1 => "dram", _ => "gpu0" }, random.NextDouble() * 50, ReadingProvenance.Modelled)).ToList();
        foreach (var batch in readings.Chunk(1000))
        {
            await AppendAsync("a1", batch, T0);
        }

        var from = T0.AddMinutes(7).AddSeconds(13);
        var to = T0.AddMinutes(53);
        foreach (var step in new[] { TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromHours(1) })
        {
            var (alignedFrom, alignedTo) = TelemetryQueries.Align(from, to, step);
            var raw = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Raw, alignedFrom, alignedTo, CancellationToken.None).ToListAsync();
            var tier = TelemetryTiers.For(step);
            var rolled = await Telemetry.ReadAgentAsync("a1", null, tier, alignedFrom, alignedTo, CancellationToken.None).ToListAsync();

            Assert.NotEqual(TelemetryTier.Raw, tier);
            Assert.True(rolled.Count < raw.Count / 10, $"{tier} holds {rolled.Count} buckets for {raw.Count} readings");
            Assert.Equal(raw.Sum(b => b.EnergyJoules), rolled.Sum(b => b.EnergyJoules), 6);
            Assert.Equal(raw.Sum(b => b.CoveredSeconds), rolled.Sum(b => b.CoveredSeconds), 6);
            Assert.Equal(raw.Count, rolled.Sum(b => b.Readings));
            Assert.Equal(rolled.OrderBy(b => b.Time).Select(b => b.Time), rolled.Select(b => b.Time));
        }
    }

    [ContractFact]
    public async Task Queries_FromRollups_AnswerWhatRawReadingsAnswer()
    {
        // Two domains, and an agent that starts mid-minute: the first minute is partly covered.
        var readings = Enumerable.Range(1, 2 * 600).Select(i => new ReadingRecord(i, T0.AddSeconds(50 + ((i + 1) / 2)), TimeSpan.FromSeconds(1), "s",
            i % 2 == 0 ? "cpu.package" : "dram", i % 2 == 0 ? 20 : 3 + (i % 7), ReadingProvenance.Modelled)).ToList();
        await AppendAsync("a1", readings, T0);
        var queries = new TelemetryQueries(Telemetry);

        var fromRollups = await queries.AgentAsync("a1", null, T0, T0.AddMinutes(15), TimeSpan.FromMinutes(1), CancellationToken.None);
        var first = fromRollups[0];
        var expected = readings.GroupBy(r => TelemetryTiers.BucketIndex(r.Time, TelemetryTiers.Minute)).OrderBy(g => g.Key)
            .Select(g => (Energy: g.Sum(r => r.EnergyJoules), Power: g.GroupBy(r => r.Domain).Sum(d => d.Sum(r => r.EnergyJoules) / d.Sum(r => r.Interval.TotalSeconds)))).ToList();

        Assert.Equal(T0, first.Time);
        Assert.Equal(expected.Count, fromRollups.Count);
        Assert.Equal(expected.Select(e => Math.Round(e.Energy, 6)), fromRollups.Select(p => Math.Round(p.EnergyJoules, 6)));
        Assert.Equal(expected.Select(e => Math.Round(e.Power, 6)), fromRollups.Select(p => Math.Round(p.PowerWatts, 6)));
        Assert.Equal(20 + (expected[0].Power - 20), first.PowerWatts, 6);
        var cpuOnly = await queries.AgentAsync("a1", "cpu.package", T0, T0.AddMinutes(15), TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.All(cpuOnly, p => Assert.Equal(20, p.PowerWatts, 9));
    }

    [ContractFact]
    public async Task ZoneRollups_CountEachNodeOnce_AndFollowTheBatchZone()
    {
        // a1 reports a whole-node domain and its components: only the whole node counts. b2 has components only.
        await AppendAsync("a1", [
            new(1, T0.AddSeconds(10), TimeSpan.FromSeconds(1), "s", "platform", 30, ReadingProvenance.Measured),
            new(2, T0.AddSeconds(10), TimeSpan.FromSeconds(1), "s", "cpu.package", 20, ReadingProvenance.Measured),
        ], T0, zone: "ES");
        await AppendAsync("b2", [
            new(1, T0.AddSeconds(20), TimeSpan.FromSeconds(1), "s", "cpu.package", 5, ReadingProvenance.Modelled),
            new(2, T0.AddSeconds(20), TimeSpan.FromSeconds(1), "s", "dram", 1, ReadingProvenance.Modelled),
        ], T0, zone: "ES");
        await AppendAsync("b2", [new(3, T0.AddMinutes(2), TimeSpan.FromSeconds(1), "s", "cpu.package", 7, ReadingProvenance.Modelled)], T0, zone: "NO");

        var zones = await new TelemetryQueries(Telemetry).ZonesAsync(T0, T0.AddHours(1), TimeSpan.FromHours(1), CancellationToken.None);
        var minutes = await Telemetry.ReadZonesAsync(TelemetryTier.Minute, T0, T0.AddHours(1), CancellationToken.None).ToListAsync();

        Assert.Equal(["ES", "NO"], zones.Select(z => z.Zone));
        Assert.Equal(36, zones[0].EnergyJoules, 9);
        Assert.Equal(7, zones[1].EnergyJoules, 9);
        Assert.Equal(36 / 3600.0, zones[0].Points.Single().PowerWatts, 9);
        Assert.Equal([T0, T0.AddMinutes(2)], minutes.Select(m => m.Time));
    }

    [ContractFact]
    public async Task GroupCommit_SeveralBatchesOfOneAgent_StoreEachSequenceOnce()
    {
        var results = await Telemetry.AppendAsync([
            new TelemetryBatch("a1", "ES", Readings(1, 4), T0),
            new TelemetryBatch("b2", "ES", Readings(1, 2), T0),
            new TelemetryBatch("a1", "ES", Readings(3, 6), T0.AddSeconds(1)),
        ], CancellationToken.None);

        Assert.Equal([new AppendResult(4, 4, 0), new AppendResult(2, 2, 0), new AppendResult(6, 2, 2)], results);
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), (await ReadAllAsync("a1")).Select(r => r.Sequence));
        var minute = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Minute, T0, T0.AddHours(1), CancellationToken.None).ToListAsync();
        Assert.Equal(6, minute.Sum(b => b.Readings));
        Assert.Equal(T0.AddSeconds(1), (await Telemetry.GetSummaryAsync("a1", CancellationToken.None))!.LastReceivedAt);
    }

    [ContractFact]
    public async Task ReadReadings_ALateReadingOlderThanAnyStoredBefore_IsReadBackInTimeOrder()
    {
        await AppendAsync("a1", [new ReadingRecord(1, T0.AddHours(5), TimeSpan.FromMinutes(1), "s", "cpu.package", 60, ReadingProvenance.Modelled)], T0);
        await AppendAsync("a1", [new ReadingRecord(2, T0.AddMinutes(1), TimeSpan.FromMinutes(1), "s", "cpu.package", 60, ReadingProvenance.Modelled)], T0);

        Assert.Equal([2L, 1L], (await ReadAsync("a1", T0, T0.AddDays(1), null)).Select(r => r.Sequence));
        Assert.Equal([2L, 1L], (await ReadAllAsync("a1")).Select(r => r.Sequence));
    }

    [ContractFact]
    public async Task Retention_DeletesEachTierBeforeItsCutoff_AndKeepsTheRest()
    {
        var old = Enumerable.Range(1, 120).Select(i => new ReadingRecord(i, T0.AddMinutes(i), TimeSpan.FromSeconds(60), "s", "cpu.package", 600, ReadingProvenance.Modelled)).ToList();
        await AppendAsync("a1", old, T0);
        await AppendAsync("b2", Readings(1, 10), T0);

        var result = await Telemetry.DeleteBeforeAsync(new RetentionCutoffs(T0.AddMinutes(61), T0.AddMinutes(90), null), CancellationToken.None);

        // Raw goes by whole hours: readings ending before 01:00 go, the rest stay.
        Assert.Equal(59 + 10, result.RawReadings);
        Assert.Equal(61, (await ReadAllAsync("a1")).Count);
        Assert.Equal(89 + 1, result.MinuteBuckets);
        Assert.Equal(0, result.HourBuckets);
        var minutes = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Minute, T0, T0.AddDays(1), CancellationToken.None).ToListAsync();
        Assert.Equal(T0.AddMinutes(90), minutes[0].Time);
        var hours = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(1), CancellationToken.None).ToListAsync();
        Assert.Equal(120 * 600, hours.Sum(h => h.EnergyJoules), 6);
        var zoneMinutes = await Telemetry.ReadZonesAsync(TelemetryTier.Minute, T0, T0.AddDays(1), CancellationToken.None).ToListAsync();
        Assert.All(zoneMinutes, z => Assert.True(z.Time >= T0.AddMinutes(90)));
        Assert.Equal(10, await Telemetry.GetDurableSequenceAsync("b2", CancellationToken.None));
    }

    [ContractFact]
    public async Task Retention_DropsWholeDaysAndTheHoursBeforeTheCutoff_AndADroppedDayTakesReadingsAgain()
    {
        // One reading an hour for three days, ending 01:00 on the 1st to 00:00 on the 4th.
        var readings = Enumerable.Range(1, 72).Select(i => new ReadingRecord(i, T0.AddHours(i), TimeSpan.FromMinutes(1), "s", "cpu.package", 60, ReadingProvenance.Modelled)).ToList();
        await AppendAsync("a1", readings, T0);

        // 05:30 on the 3rd: whole hours go, so everything ending before 05:00 on the 3rd (hours 1 to 52).
        var result = await Telemetry.DeleteBeforeAsync(new RetentionCutoffs(T0.AddDays(2).AddHours(5.5), null, null), CancellationToken.None);

        Assert.Equal(new RetentionResult(52, 0, 0), result);
        Assert.Equal(Enumerable.Range(53, 20).Select(i => (long)i), (await ReadAllAsync("a1")).Select(r => r.Sequence));
        var hours = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync();
        Assert.Equal(72 * 60, hours.Sum(h => h.EnergyJoules), 6);

        // A late reading for a day that retention emptied is stored like any other.
        await AppendAsync("a1", [new ReadingRecord(73, T0.AddHours(3), TimeSpan.FromMinutes(1), "s", "cpu.package", 60, ReadingProvenance.Modelled)], T0);
        Assert.Equal(73, Assert.Single(await ReadAsync("a1", T0, T0.AddDays(1), null)).Sequence);
    }

    [ContractFact]
    public async Task Append_ConcurrentCommitsOfTheSameBatch_StoreItOnce()
    {
        var batch = new TelemetryBatch("a1", "ES", Readings(1, 10), T0);

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Telemetry.AppendAsync([batch], CancellationToken.None))));

        Assert.Equal([10, 0, 0, 0, 0, 0], results.Select(r => r.Single().Accepted).OrderDescending());
        Assert.All(results, r => Assert.Equal(10, r.Single().DurableSequence));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), (await ReadAllAsync("a1")).Select(r => r.Sequence));
        Assert.Equal(10, (await Telemetry.GetSummaryAsync("a1", CancellationToken.None))!.ReadingCount);
        var minutes = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Minute, T0, T0.AddHours(1), CancellationToken.None).ToListAsync();
        Assert.Equal(10, minutes.Sum(m => m.Readings));
    }

    [ContractFact]
    public async Task CloseHours_HourQueriesAnswerTheSameBeforeAndAfter_AndLateReadingsCountInClosedAndOpenHours()
    {
        // Three hours of two domains, 20 s apart.
        var readings = Enumerable.Range(1, 2 * 540).Select(i => new ReadingRecord(i, T0.AddSeconds(20 * ((i + 1) / 2)), TimeSpan.FromSeconds(20), "s",
            i % 2 == 0 ? "cpu.package" : "dram", i % 2 == 0 ? 200 : 40 + (i % 5), ReadingProvenance.Modelled)).ToList();
        await AppendAsync("a1", readings, T0);
        var before = await HoursAsync(null);
        var cpuBefore = await HoursAsync("cpu.package");

        await Telemetry.CloseHoursAsync(T0.AddHours(2.5), CancellationToken.None);

        Assert.Equal(8, before.Count);
        Assert.Equal(before, await HoursAsync(null));
        Assert.Equal(cpuBefore, await HoursAsync("cpu.package"));
        Assert.All(cpuBefore, b => Assert.Equal("cpu.package", b.Domain));

        // Late: one for 00:xx (closed above), one for 02:xx (still open).
        await AppendAsync("a1", [
            new ReadingRecord(2000, T0.AddMinutes(30).AddSeconds(5), TimeSpan.FromSeconds(5), "s", "cpu.package", 1000, ReadingProvenance.Modelled),
            new ReadingRecord(2001, T0.AddHours(2).AddMinutes(30).AddSeconds(5), TimeSpan.FromSeconds(5), "s", "cpu.package", 3000, ReadingProvenance.Modelled),
        ], T0.AddHours(3));
        var late = await HoursAsync("cpu.package");
        Assert.Equal([1000.0, 0, 3000], late.Zip(cpuBefore).Select(p => p.First.EnergyJoules - p.Second.EnergyJoules).Take(3));
        Assert.Equal([1L, 0, 1], late.Zip(cpuBefore).Select(p => p.First.Readings - p.Second.Readings).Take(3));

        await Telemetry.CloseHoursAsync(T0.AddHours(5), CancellationToken.None);
        Assert.Equal(late, await HoursAsync("cpu.package"));
        var raw = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Raw, T0, T0.AddHours(4), CancellationToken.None).ToListAsync();
        var hours = await HoursAsync(null);
        Assert.Equal(raw.Sum(r => r.EnergyJoules), hours.Sum(h => h.EnergyJoules), 6);
        Assert.Equal(raw.Count, hours.Sum(h => h.Readings));

        async Task<List<(DateTimeOffset Time, string Domain, double EnergyJoules, double CoveredSeconds, long Readings)>> HoursAsync(string? domain) =>
            (await Telemetry.ReadAgentAsync("a1", domain, TelemetryTier.Hour, T0, T0.AddHours(4), CancellationToken.None).ToListAsync())
                .Select(b => (b.Time, b.Domain, Math.Round(b.EnergyJoules, 6), Math.Round(b.CoveredSeconds, 6), b.Readings)).ToList();
    }

    [ContractFact]
    public async Task ReadAgent_HourTier_WhileRetentionFoldsAndDeletesTheMinutesStillToBeRead_AnswersWhole()
    {
        // Fourteen hours of three domains, a reading a minute: more minute rollups than one page of a paged read.
        var readings = Enumerable.Range(1, 14 * 60 * 3).Select(i => new ReadingRecord(i, T0.AddMinutes((i + 2) / 3), TimeSpan.FromMinutes(1), "s",
            (i % 3) switch { 0 => "cpu.package", 1 => "dram", _ => "gpu0" }, 60 + (i % 7), ReadingProvenance.Modelled)).ToList();
        await AppendAsync("a1", readings, T0);
        var whole = await Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddHours(15), CancellationToken.None).ToListAsync();

        var read = new List<EnergyBucket>();
        await using (var reader = Telemetry.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddHours(15), CancellationToken.None).GetAsyncEnumerator())
        {
            Assert.True(await reader.MoveNextAsync());
            read.Add(reader.Current);

            // Retention folds every hour up to 14:00 and deletes the minutes before 13:00, most of them not yet read.
            await Telemetry.DeleteBeforeAsync(new RetentionCutoffs(null, T0.AddHours(13), null), CancellationToken.None);
            while (await reader.MoveNextAsync())
            {
                read.Add(reader.Current);
            }
        }

        Assert.Equal(15 * 3, whole.Count);
        Assert.Equal(Rounded(whole), Rounded(read));

        static List<(DateTimeOffset, string, double, long)> Rounded(List<EnergyBucket> buckets) =>
            [.. buckets.Select(b => (b.Time, b.Domain, Math.Round(b.EnergyJoules, 6), b.Readings))];
    }
}
