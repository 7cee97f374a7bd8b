using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Contracts.V1;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using static EdgeGreen.Agent.Tests.Monitoring.Profiles;

namespace EdgeGreen.Agent.Tests.Monitoring;

public sealed class InferenceMonitorTests
{
    private static readonly DateTimeOffset Noon = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _time = new(Noon + TimeSpan.FromSeconds(20));

    [Fact]
    public void Collect_AfterTheWindowBoundary_WritesOneSummaryPerWindowWithTraffic_AlignedToTheClock()
    {
        var energy = 100.0;
        var monitor = Monitor(Profile(Minute, [Numeric("x", 0, 1, 2)]), _time, energyJoules: () => energy);
        monitor.Record("a", 1, Row(("x", 0.5f)), []);
        energy = 112.5;
        Assert.Empty(monitor.Collect(_time.GetUtcNow()));

        // The first window began with the monitor and ends on the minute.
        _time.Advance(TimeSpan.FromSeconds(40));
        var first = Assert.Single(monitor.Collect(_time.GetUtcNow()));
        Assert.Equal(("churn/3/1740830420", Noon + TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40)),
            (first.Id, first.WindowStart.ToDateTimeOffset(), first.Window.ToTimeSpan()));
        Assert.Equal((1UL, 0UL, 1UL, 12.5), (first.Requests, first.FailedRequests, first.Inferences, first.EnergyJoules));
        Assert.Equal(("churn", "scorer", 3), (first.Deployment, first.Model, first.Version));

        // A window without requests writes nothing; the next with traffic is a whole aligned minute.
        _time.Advance(TimeSpan.FromMinutes(1.5));
        monitor.RecordFailure();
        monitor.Record(null, 4, [("x", new[] { 1.5f, 1.5f, 0.1f, float.NaN })], []);
        Assert.Empty(monitor.Collect(_time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(30));
        var second = Assert.Single(monitor.Collect(_time.GetUtcNow()));
        Assert.Equal(("churn/3/1740830520", Minute), (second.Id, second.Window.ToTimeSpan()));
        Assert.Equal((1UL, 1UL, 4UL), (second.Requests, second.FailedRequests, second.Inferences));
        var x = Assert.Single(second.Inputs);
        Assert.Equal([1UL, 2UL], x.Counts);
        Assert.Equal((1UL, 3UL), (x.Missing, x.Count));
        Assert.Empty(monitor.Collect(_time.GetUtcNow() + TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Close_MidWindow_ReportsThePartSoFar_AndCountsNothingAfter()
    {
        var monitor = Monitor(Profile(Minute, [Numeric("x", 0, 1)]), _time);
        _time.Advance(TimeSpan.FromSeconds(30));
        monitor.Record(null, 1, Row(("x", 0.5f)), []);
        _time.Advance(TimeSpan.FromSeconds(15));
        monitor.Record(null, 1, Row(("x", 0.5f)), []);
        _time.Advance(TimeSpan.FromSeconds(5));

        var summaries = monitor.Close();
        monitor.Record(null, 1, Row(("x", 0.5f)), []);

        Assert.Equal(2, summaries.Count);
        Assert.Equal((Noon + Minute, TimeSpan.FromSeconds(10), 1UL), (summaries[1].WindowStart.ToDateTimeOffset(), summaries[1].Window.ToTimeSpan(), summaries[1].Requests));
        Assert.Empty(monitor.Collect(_time.GetUtcNow() + TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Record_OutputsAndInputsNotProfiled_CountOnlyProfiledFeatures_AndATwoColumnOutputByItsLastColumn()
    {
        var profile = Profile(Minute, [Numeric("x", 0, 1)], [Numeric("Probability", 0, 0.5, 1), Numeric("Score", -10, 0, 10)]);
        var monitor = Monitor(profile, _time);

        monitor.Record(null, 2, [("x", new[] { 0.2f, 0.4f }), ("other", new[] { 1f, 2f })],
            [Output("Probability", [2, 2], 0.9f, 0.1f, 0.3f, 0.7f), Output("Score", [2, 1], -3f, 4f)]);

        var summary = Assert.Single(monitor.Collect(_time.GetUtcNow() + Minute));
        Assert.Equal(["x"], summary.Inputs.Select(i => i.Name));
        Assert.Equal([1UL, 1UL], summary.Outputs[0].Counts);
        Assert.Equal(0.8, summary.Outputs[0].Sum, 6);
        Assert.Equal([1UL, 1UL], summary.Outputs[1].Counts);
    }

    [Fact]
    public void Record_ManyRequests_ReservoirHoldsSampleSize_EachRequestEquallyLikely()
    {
        const int Windows = 400, PerWindow = 500, Size = 10;
        var profile = Profile(Minute, [Numeric("x", 0, 1)], sampleRate: 1, sampleSize: Size);
        var time = new FakeTimeProvider(Noon);
        var monitor = Monitor(profile, time, seed: 2024);
        var perDecile = new int[10];
        for (var w = 0; w < Windows; w++)
        {
            for (var i = 0; i < PerWindow; i++)
            {
                monitor.Record(i.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, Row(("x", i)), []);
            }

            time.Advance(Minute);
            var summary = Assert.Single(monitor.Collect(time.GetUtcNow()));
            Assert.Equal((ulong)PerWindow, summary.SampleOffered);
            Assert.Equal(Size, summary.Samples.Count);
            Assert.Equal(Size, summary.Samples.Select(s => s.RequestId).Distinct().Count());
            foreach (var sample in summary.Samples)
            {
                var position = int.Parse(sample.RequestId, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(position, Assert.Single(Assert.Single(sample.Inputs).Values));
                perDecile[position * 10 / PerWindow]++;
            }
        }

        // 4,000 sampled positions, 400 expected per decile (sd about 19): a fixed seed makes the
        // outcome certain, and ±80 (over 4 sd) would hold for almost any seed, so the bound tests
        // uniformity (Algorithm R's early or late bias would miss it by hundreds) without flaking.
        Assert.All(perDecile, count => Assert.InRange(count, 320, 480));
    }

    [Fact]
    public void Record_SampleRateHalf_OffersAboutHalf_AndRateZeroKeepsNothing()
    {
        var half = Monitor(Profile(Minute, [Numeric("x", 0, 1)], sampleRate: 0.5, sampleSize: 5), _time, seed: 7);
        var none = Monitor(Profile(Minute, [Numeric("x", 0, 1)], sampleRate: 0, sampleSize: 5), _time);
        for (var i = 0; i < 2_000; i++)
        {
            half.Record(null, 1, Row(("x", 0.5f)), []);
            none.Record(null, 1, Row(("x", 0.5f)), []);
        }

        var sampled = Assert.Single(half.Collect(_time.GetUtcNow() + Minute));
        var unsampled = Assert.Single(none.Collect(_time.GetUtcNow() + Minute));

        // Binomial(2,000, 0.5): sd 22; ±150 is almost 7 sd.
        Assert.InRange((int)sampled.SampleOffered, 850, 1_150);
        Assert.Equal(5, sampled.Samples.Count);
        Assert.Equal((0UL, 0), (unsampled.SampleOffered, unsampled.Samples.Count));
    }

    [Fact]
    public void Record_PredictionLogBeyondItsCap_CountsTheDroppedInTheMetric()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var profile = Profile(Minute, [Numeric("x", 0, 1)], [Numeric("Probability", 0, 0.5, 1)], logPredictions: true);
        var monitor = Monitor(profile, _time, maxPredictions: 3, registry: registry);

        for (var i = 0; i < 5; i++)
        {
            monitor.Record($"r{i}", 1, Row(("x", 0.5f)), [Output("Probability", [1, 2], 0.25f, 0.75f)]);
        }

        monitor.Record(null, 1, Row(("x", 0.5f)), [Output("Probability", [1, 2], 0.25f, 0.75f)]);
        monitor.Record(new string('k', InferenceMonitor.MaxRequestIdLength + 1), 1, Row(("x", 0.5f)), [Output("Probability", [1, 2], 0.25f, 0.75f)]);

        var summary = Assert.Single(monitor.Collect(_time.GetUtcNow() + Minute));
        Assert.Equal(["r0", "r1", "r2"], summary.Predictions.Select(p => p.RequestId));
        Assert.All(summary.Predictions, p => Assert.Equal(0.75, p.Value));
        Assert.Equal(_time.GetUtcNow(), summary.Predictions[0].Time.ToDateTimeOffset());
        var scrape = MetricsText.Scrape(registry);
        Assert.Contains("edgegreen_agent_monitored_predictions_dropped_total{reason=\"window_full\"} 2", scrape, StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_monitored_predictions_dropped_total{reason=\"id_too_long\"} 1", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_ConcurrentRequests_CountEveryValueOnce()
    {
        var monitor = Monitor(Profile(Minute, [Numeric("x", 0, 10, 20)], sampleRate: 1, sampleSize: 50), _time);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                monitor.Record(null, 2, [("x", new[] { 5f, 15f })], []);
            }
        })));

        var summary = Assert.Single(monitor.Collect(_time.GetUtcNow() + Minute));
        Assert.Equal((40_000UL, 80_000UL, 40_000UL), (summary.Requests, summary.Inferences, summary.SampleOffered));
        Assert.Equal([40_000UL, 40_000UL], summary.Inputs[0].Counts);
        Assert.Equal(50, summary.Samples.Count);
    }

    [Theory]
    [InlineData(0.5, "window")]
    [InlineData(90_000, "window")]
    [InlineData(-1, "sample_rate")]
    [InlineData(60, "edges")]
    public void Problem_ProfileOutOfBounds_SaysWhy(double windowSecondsOrRate, string expected)
    {
        var profile = Profile(Minute, [Numeric("x", 0, 1)]);
        switch (expected)
        {
            case "window": profile.Window = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(windowSecondsOrRate)); break;
            case "sample_rate": profile.SampleRate = windowSecondsOrRate; break;
            default: profile.Inputs[0].Edges.Add(0.5); break;
        }

        Assert.Contains(expected, ProfileRules.Problem(profile), StringComparison.Ordinal);
        Assert.Null(ProfileRules.Problem(Profile(Minute, [Numeric("x", 0, 1), Categorical("c", "a")])));
    }
}
