using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;

namespace EdgeGreen.ControlPlane.Tests.Storage;

public sealed class TelemetryRollupsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AgentDeltasInKeyOrder_SortsByAgentBucketAndDomain_AndMergesAnAgentsBatches()
    {
        var rollups = new TelemetryRollups();
        // Agents arrive out of order, and agent "b" twice in one commit (two batches).
        rollups.Add("b", "ES", false, [Reading(1, T0.AddMinutes(1), "dram", 2), Reading(2, T0.AddSeconds(30), "cpu.package", 3)]);
        rollups.Add("a", "ES", false, [Reading(1, T0.AddSeconds(10), "gpu0", 5)]);
        rollups.Add("b", "ES", false, [Reading(3, T0.AddSeconds(40), "cpu.package", 4), Reading(4, T0.AddSeconds(50), "Z", 1), Reading(5, T0.AddSeconds(70), "Z", 8)]);

        var minute = rollups.AgentDeltasInKeyOrder(TelemetryTier.Minute).ToList();
        var hour = rollups.AgentDeltasInKeyOrder(TelemetryTier.Hour).ToList();

        var first = TelemetryTiers.BucketIndex(T0.AddSeconds(1), TelemetryTier.Minute.BucketSize());
        // Ordinal domains: "Z" (0x5A) sorts before "cpu.package".
        Assert.Equal(
            [("a", first, "gpu0", 5.0, 1L), ("b", first, "Z", 1.0, 1L), ("b", first, "cpu.package", 7.0, 2L), ("b", first + 1, "Z", 8.0, 1L), ("b", first + 1, "dram", 2.0, 1L)],
            minute.Select(d => (d.AgentId, d.Bucket, d.Domain, d.EnergyJoules, d.Readings)));
        Assert.All(minute, d => Assert.Equal(TelemetryTier.Minute, d.Tier));
        Assert.Equal([("a", "gpu0", 5.0), ("b", "Z", 9.0), ("b", "cpu.package", 7.0), ("b", "dram", 2.0)], hour.Select(d => (d.AgentId, d.Domain, d.EnergyJoules)));
        Assert.Equal(minute.Sum(d => d.EnergyJoules), rollups.AgentDeltas.Where(d => d.Tier == TelemetryTier.Minute).Sum(d => d.EnergyJoules));
    }

    private static ReadingRecord Reading(long sequence, DateTimeOffset time, string domain, double joules) =>
        new(sequence, time, TimeSpan.FromSeconds(1), "s", domain, joules, ReadingProvenance.Measured);
}
