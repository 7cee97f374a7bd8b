using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Api;

public sealed record AgentResponse(
    string Id,
    string Name,
    string Zone,
    IReadOnlyDictionary<string, string> Labels,
    string Status,
    DateTimeOffset? LastSeen,
    double PowerWatts,
    double EnergyJoules,
    IReadOnlyList<SensorResponse> Sensors,
    string? AgentVersion,
    AgentCapacityResponse? Capacity,
    AgentInferenceResponse? Inference);

/// <summary>The ONNX Runtime execution providers an agent has, the one its jobs use, and why when it falls back to the CPU.</summary>
public sealed record AgentInferenceResponse(IReadOnlyList<string> Providers, string? Provider, string? Note);

public sealed record SensorResponse(string Id, string Kind, string Domain, string Provenance, string? Note);

public sealed record AgentCapacityResponse(int CpuCores, long MemoryBytes, int Gpus);

/// <summary>Joins what agents report about themselves with their telemetry totals.</summary>
public sealed class AgentViews(IAgentStore agents, ITelemetryStore telemetry, IOptions<AgentsOptions> options, TimeProvider timeProvider)
{
    public const string Online = "online";
    public const string Offline = "offline";

    public async Task<IReadOnlyList<AgentResponse>> ListAsync(CancellationToken cancellationToken)
    {
        var summaries = (await telemetry.ListSummariesAsync(cancellationToken)).ToDictionary(s => s.AgentId);
        var now = timeProvider.GetUtcNow();
        return [.. (await agents.ListAsync(cancellationToken)).Select(a => ToResponse(a, summaries.GetValueOrDefault(a.Id), now))];
    }

    public async Task<AgentResponse?> GetAsync(string agentId, CancellationToken cancellationToken) =>
        await agents.GetAsync(agentId, cancellationToken) is { } agent
            ? ToResponse(agent, await telemetry.GetSummaryAsync(agentId, cancellationToken), timeProvider.GetUtcNow())
            : null;

    private AgentResponse ToResponse(AgentRecord agent, TelemetrySummary? summary, DateTimeOffset now)
    {
        DateTimeOffset? lastSeen = (agent.LastHeartbeatAt, summary?.LastReceivedAt) switch
        {
            ({ } heartbeat, { } received) => heartbeat > received ? heartbeat : received,
            (var heartbeat, var received) => heartbeat ?? received,
        };
        var online = lastSeen is { } seen && now - seen <= options.Value.OfflineAfter;
        return new AgentResponse(
            agent.Id,
            agent.Name,
            agent.EffectiveZone,
            agent.Labels,
            online ? Online : Offline,
            lastSeen,
            online ? summary?.PowerWatts ?? 0 : 0,
            summary?.EnergyJoules ?? 0,
            [.. (agent.State?.Sensors ?? []).Select(s => new SensorResponse(s.Id, s.Kind, s.Domain, s.Provenance == ReadingProvenance.Measured ? "measured" : "modelled", s.Note))],
            agent.State?.AgentVersion,
            agent.State is { } state ? new AgentCapacityResponse(state.CpuCores, state.MemoryBytes, state.Gpus) : null,
            agent.State is { InferenceProvider: not null } reported ? new AgentInferenceResponse(reported.InferenceProviders, reported.InferenceProvider, reported.InferenceNote) : null);
    }
}
