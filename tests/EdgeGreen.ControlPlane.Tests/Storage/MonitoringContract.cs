using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The monitoring half of the contract: summaries summed per hour once each, predictions by request id, samples, retention.</summary>
public abstract partial class StorageContract
{
    [ContractFact]
    public async Task Monitoring_SummariesAreSummedPerVersionAndHourOnce_PredictionsAndSamplesKept_AcrossReopen()
    {
        var first = Summary("a1", "credit/1/0", T0, requests: 10, ageCounts: [3, 7]) with
        {
            Predictions = [new LoggedPrediction("credit", "r-1", "credit-default", 1, "a1", T0.AddSeconds(5), 0.25)],
            Samples = [new SampledRequest("credit", "credit-default", 1, "a1", "r-1", T0.AddSeconds(5),
                new Dictionary<string, IReadOnlyList<double>> { ["age"] = [31] }, new Dictionary<string, IReadOnlyList<double>> { ["probability"] = [0.25] })],
        };
        Assert.Equal((1, 0), await Monitoring.AddSummariesAsync([first], CancellationToken.None));

        // Another agent in the same hour, the same agent's next window, and a resend of the first.
        var (second, third) = (Summary("a2", "credit/1/0", T0.AddMinutes(1), requests: 5, ageCounts: [5, 0]), Summary("a1", "credit/1/60", T0.AddMinutes(1), requests: 1, ageCounts: [0, 1]));
        Assert.Equal((2, 1), await Monitoring.AddSummariesAsync([second, first, third], CancellationToken.None));
        var nextHour = Summary("a1", "credit/1/3600", T0.AddHours(1), requests: 2, ageCounts: [1, 1]);
        var otherVersion = Summary("a1", "credit/2/0", T0, requests: 4, ageCounts: [2, 2]) with { Traffic = Summary("a1", "x", T0, 4, [2, 2]).Traffic with { Version = 2 } };
        await Monitoring.AddSummariesAsync([nextHour, otherVersion, Summary("a1", "churn/1/0", T0, 9, [9, 0]) with { Traffic = Summary("a1", "y", T0, 9, [9, 0]).Traffic with { Deployment = "churn" } }],
            CancellationToken.None);

        await ReopenAsync();
        var hours = await Monitoring.ListHoursAsync("credit", T0, T0.AddHours(2), CancellationToken.None);
        Assert.Equal([(T0, 1), (T0, 2), (T0.AddHours(1), 1)], hours.Select(h => (h.Start, h.Version)));
        var firstHour = hours[0];
        Assert.Equal((16L, 1L, TimeSpan.FromHours(1)), (firstHour.Requests, firstHour.FailedRequests, firstHour.Duration));
        var age = Assert.Single(firstHour.Inputs);
        Assert.Equal([8L, 8L], age.Counts);
        Assert.Equal((16L, 3 * 16.0, 20.0, 40.0), (age.Count, age.Sum, age.Min, age.Max));
        Assert.Equal(1.6, firstHour.EnergyJoules, 9);
        Assert.Single(await Monitoring.ListHoursAsync("credit", T0.AddHours(1), T0.AddHours(2), CancellationToken.None));
        Assert.Single(await Monitoring.ListHoursAsync("churn", T0, T0.AddHours(2), CancellationToken.None));

        var prediction = Assert.Single(await Monitoring.FindPredictionsAsync("credit", ["r-1", "r-unknown", "r-1"], CancellationToken.None));
        Assert.Equal(("a1", 0.25, 1), (prediction.AgentId, prediction.Value, prediction.Version));
        Assert.Empty(await Monitoring.FindPredictionsAsync("churn", ["r-1"], CancellationToken.None));
        var sample = Assert.Single(await Monitoring.ListSamplesAsync("credit", T0, T0.AddHours(1), 10, CancellationToken.None));
        Assert.Equal([31.0], sample.Inputs["age"]);
        Assert.Equal([0.25], sample.Outputs["probability"]);

        // Labels join by request id; an id with no kept prediction is named back; a resend keeps the label.
        Assert.Equal(["r-unknown"], await Monitoring.AddLabelsAsync("credit", [("r-1", 1), ("r-unknown", 0)], T0.AddMinutes(30), CancellationToken.None));
        await Monitoring.AddSummariesAsync([first with { Id = "credit/1/0-again" }], CancellationToken.None);
        await ReopenAsync();
        var labelled = Assert.Single(await Monitoring.ListPredictionsAsync("credit", T0, T0.AddHours(1), 10, CancellationToken.None));
        Assert.Equal((1.0, T0.AddMinutes(30)), (labelled.Label, labelled.LabelledAt));
        Assert.Empty(await Monitoring.ListPredictionsAsync("credit", T0.AddHours(1), T0.AddHours(2), 10, CancellationToken.None));
        Assert.Empty(await Monitoring.ListPredictionsAsync("churn", T0, T0.AddHours(1), 10, CancellationToken.None));

        // Retention: the first hour's sums and everything detailed before the second hour go.
        Assert.True(await Monitoring.DeleteBeforeAsync(T0.AddHours(1), T0.AddHours(1), CancellationToken.None) >= 4);
        Assert.Equal([T0.AddHours(1)], (await Monitoring.ListHoursAsync("credit", T0, T0.AddHours(2), CancellationToken.None)).Select(h => h.Start));
        Assert.Empty(await Monitoring.FindPredictionsAsync("credit", ["r-1"], CancellationToken.None));
        Assert.Empty(await Monitoring.ListSamplesAsync("credit", T0, T0.AddHours(2), 10, CancellationToken.None));
    }

    private static InferenceSummaryRecord Summary(string agent, string id, DateTimeOffset start, long requests, long[] ageCounts) =>
        new(agent, id, new TrafficWindow("credit", "credit-default", 1, start, TimeSpan.FromMinutes(1), requests, requests == 10 ? 1 : 0, requests, requests * 0.1,
            [new FeatureCounts("age", ageCounts, 0, ageCounts.Sum(), 3 * ageCounts.Sum(), ageCounts.Sum() * 9.0, ageCounts[0] > 0 ? 20 : 40, 40)], []),
            [], [], 0);
}
