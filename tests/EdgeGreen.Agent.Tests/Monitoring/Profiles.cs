using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace EdgeGreen.Agent.Tests.Monitoring;

/// <summary>Monitoring profiles and monitors as the tests build them.</summary>
internal static class Profiles
{
    public static readonly MonitoredVersion Churn = new("churn", "scorer", 3);

    public static FeatureBins Numeric(string name, params double[] edges) => new() { Name = name, Edges = { edges } };

    public static FeatureBins Categorical(string name, params string[] categories) => new() { Name = name, Categories = { categories } };

    public static MonitoringProfile Profile(TimeSpan window, IEnumerable<FeatureBins> inputs, IEnumerable<FeatureBins>? outputs = null,
        double sampleRate = 0, int sampleSize = 0, bool logPredictions = false) => new()
    {
        Inputs = { inputs },
        Outputs = { outputs ?? [] },
        SampleRate = sampleRate,
        SampleSize = sampleSize,
        LogPredictions = logPredictions,
        Window = Duration.FromTimeSpan(window),
    };

    public static InferenceMonitor Monitor(MonitoringProfile profile, TimeProvider time, int seed = 17, int maxPredictions = 10_000,
        CollectorRegistry? registry = null, Func<double>? energyJoules = null) =>
        new(Churn, profile, maxPredictions, time, new Random(seed), energyJoules,
            new AgentMetrics(Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.NewCustomRegistry())), NullLogger.Instance);

    /// <summary>An FP32 output tensor of the given shape.</summary>
    public static OutputTensor Output(string name, long[] shape, params float[] values) =>
        new(name, new ElementType(typeof(float), "FP32", 4), shape, values);

    /// <summary>One FP32 input per name, shape [1, 1].</summary>
    public static IReadOnlyList<(string Name, Array Values)> Row(params (string Name, float Value)[] values) =>
        [.. values.Select(v => (v.Name, (Array)new[] { v.Value }))];
}
