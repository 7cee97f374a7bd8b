using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent.Tests.Monitoring;

public sealed class InferenceSummaryOutboxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-summaries-").FullName;
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    [Fact]
    public void Add_SurvivesReopeningTheOutboxFile_UntilRemoved()
    {
        using (var file = ReadingOutboxTests.Open(_directory))
        {
            var summaries = Open(file);
            summaries.Add(Summary("churn/3/60", requests: 7));
            summaries.Add(Summary("churn/3/120", requests: 9));
        }

        using var reopened = ReadingOutboxTests.Open(_directory);
        var again = Open(reopened);

        var pending = again.Pending(10);
        Assert.Equal([("churn/3/60", 7UL), ("churn/3/120", 9UL)], pending.Select(p => (p.Summary.Id, p.Summary.Requests)));
        again.Remove([pending[0].Key]);
        Assert.Equal("churn/3/120", Assert.Single(again.Pending(10)).Summary.Id);
        Assert.Contains("edgegreen_agent_inference_summaries_pending 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_WhenFull_DropsTheOldest_AndCountsIt()
    {
        using var file = ReadingOutboxTests.Open(_directory);
        var summaries = Open(file, maxPending: 10);

        for (var i = 0; i < 13; i++)
        {
            summaries.Add(Summary($"churn/3/{i}", requests: 1));
        }

        Assert.Equal(Enumerable.Range(3, 10).Select(i => $"churn/3/{i}"), summaries.Pending(100).Select(p => p.Summary.Id));
        Assert.Contains("edgegreen_agent_inference_summaries_dropped_total{reason=\"outbox_full\"} 3", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_SummaryOverTheMessageBound_LosesItsSampleFirst_AndIsCounted()
    {
        using var file = ReadingOutboxTests.Open(_directory);
        var summaries = Open(file);
        var large = Summary("churn/3/60", requests: 1);
        var values = new SampledValue { Name = "x" };
        values.Values.Add(Enumerable.Repeat(0.5, 1_000));
        for (var i = 0; i < 500; i++)
        {
            large.Samples.Add(new SampledRequest { RequestId = $"r{i}", Inputs = { values } });
        }

        large.Predictions.Add(new LoggedPrediction { RequestId = "r1", Value = 0.7 });

        summaries.Add(large);

        var stored = Assert.Single(summaries.Pending(10)).Summary;
        Assert.Empty(stored.Samples);
        Assert.Equal("r1", Assert.Single(stored.Predictions).RequestId);
        Assert.Contains("edgegreen_agent_inference_summaries_trimmed_total 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static InferenceSummary Summary(string id, ulong requests) => new() { Id = id, Deployment = "churn", Model = "scorer", Version = 3, Requests = requests };

    private InferenceSummaryOutbox Open(ReadingOutbox file, int maxPending = 10_000) =>
        new(file, Options.Create(new AgentOptions { Monitoring = { MaxPendingSummaries = maxPending } }), new AgentMetrics(Prometheus.Metrics.WithCustomRegistry(_registry)),
            new LogThrottle(TimeProvider.System), NullLogger<InferenceSummaryOutbox>.Instance);
}
