using EdgeGreen.ControlPlane.Api;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests;

public sealed class ReadingDownsamplerTests
{
    private static readonly DateTimeOffset Minute = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Downsample_PartlyCoveredBucket_PowerIsTheDrawNotDilutedByMissingTime()
    {
        // An agent that started at 10:00:50 reports ten seconds of 20 W in the first minute.
        var readings = Enumerable.Range(51, 10).Select(s => Reading(Minute.AddSeconds(s - 1), "cpu.package", 20)).ToList();

        var point = Assert.Single(ReadingDownsampler.Downsample(readings, TimeSpan.FromMinutes(1)));

        Assert.Equal(Minute, point.Time);
        Assert.Equal(200, point.EnergyJoules, 9);
        Assert.Equal(20, point.PowerWatts, 9);
    }

    [Fact]
    public void Downsample_SeveralDomains_PowerAddsAcrossDomainsAndBucketsAlignToTheStep()
    {
        var readings = new[]
        {
            Reading(Minute.AddSeconds(10), "cpu.package", 10),
            Reading(Minute.AddSeconds(11), "cpu.package", 10),
            Reading(Minute.AddSeconds(10), "gpu0", 200),
            Reading(Minute.AddSeconds(70), "gpu0", 100),
        };

        var points = ReadingDownsampler.Downsample(readings, TimeSpan.FromMinutes(1));

        Assert.Equal([Minute, Minute.AddMinutes(1)], points.Select(p => p.Time));
        Assert.Equal(210, points[0].PowerWatts, 9);
        Assert.Equal(220, points[0].EnergyJoules, 9);
        Assert.Equal(100, points[1].PowerWatts, 9);
    }

    private static ReadingRecord Reading(DateTimeOffset time, string domain, double watts) =>
        new(0, time, TimeSpan.FromSeconds(1), "s", domain, watts, ReadingProvenance.Measured);
}
