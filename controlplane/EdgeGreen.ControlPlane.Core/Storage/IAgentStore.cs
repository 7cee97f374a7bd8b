namespace EdgeGreen.ControlPlane.Core.Storage;

public interface IAgentStore
{
    Task AddAsync(AgentRecord agent, CancellationToken cancellationToken);

    Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken);

    Task<AgentRecord?> FindByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken);

    Task<IReadOnlyList<AgentRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Stores a heartbeat; the reported zone and labels replace the enrolled ones.</summary>
    /// <returns>False when the agent does not exist.</returns>
    Task<bool> ReportStateAsync(string agentId, AgentReportedState state, DateTimeOffset seenAt, CancellationToken cancellationToken);

    /// <summary>Sets (or, with null, clears) the operator's zone for the agent; heartbeats do not change it.</summary>
    /// <returns>False when the agent does not exist.</returns>
    Task<bool> SetZoneOverrideAsync(string agentId, string? zone, CancellationToken cancellationToken);
}
