namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// What one agent reported about one window of a deployed version: the traffic, the predictions
/// of requests that carried an id (for labels sent later) and the window's sample of raw requests.
/// <paramref name="Id"/> is unique per agent, so a resend is recognised.
/// </summary>
public sealed record InferenceSummaryRecord(
    string AgentId,
    string Id,
    TrafficWindow Traffic,
    IReadOnlyList<LoggedPrediction> Predictions,
    IReadOnlyList<SampledRequest> Samples,
    long SampleOffered);

/// <summary>
/// A served prediction kept so that the request's label, sent later (feedback), can be joined to
/// it; <see cref="Label"/> is null until then.
/// </summary>
public sealed record LoggedPrediction(string Deployment, string RequestId, string Model, int Version, string AgentId, DateTimeOffset Time, double Value)
{
    public double? Label { get; init; }

    public DateTimeOffset? LabelledAt { get; init; }
}

/// <summary>One request's raw values of the monitored features, as the agent's bounded sample kept it.</summary>
public sealed record SampledRequest(
    string Deployment,
    string Model,
    int Version,
    string AgentId,
    string RequestId,
    DateTimeOffset Time,
    IReadOnlyDictionary<string, IReadOnlyList<double>> Inputs,
    IReadOnlyDictionary<string, IReadOnlyList<double>> Outputs);
