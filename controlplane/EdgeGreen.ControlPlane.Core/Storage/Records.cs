namespace EdgeGreen.ControlPlane.Core.Storage;

public enum ReadingProvenance
{
    Measured,
    Modelled,
}

public enum ApiKeyRole
{
    Viewer,
    Operator,
    Admin,
}

/// <summary>
/// An enrolled agent: who it is and what it last reported about itself. <see cref="Zone"/> is
/// what the agent reports; an operator's <see cref="ZoneOverride"/> wins over it.
/// </summary>
public sealed record AgentRecord(
    string Id,
    string Name,
    string Zone,
    IReadOnlyDictionary<string, string> Labels,
    string CredentialHash,
    DateTimeOffset EnrolledAt,
    DateTimeOffset? LastHeartbeatAt,
    AgentReportedState? State,
    string? ZoneOverride = null)
{
    /// <summary>The zone the agent's energy is accounted and scheduled in.</summary>
    public string EffectiveZone => ZoneOverride ?? Zone;
}

/// <summary>State an agent reports in its heartbeat.</summary>
public sealed record AgentReportedState(
    string AgentVersion,
    string OsDescription,
    string RuntimeVersion,
    string Zone,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<SensorRecord> Sensors,
    int CpuCores,
    long MemoryBytes,
    int Gpus,
    IReadOnlyList<string> JobKinds)
{
    /// <summary>ONNX Runtime execution providers the agent has, the one it uses, and why when that is the CPU by necessity.</summary>
    public IReadOnlyList<string> InferenceProviders { get; init; } = [];

    public string? InferenceProvider { get; init; }

    public string? InferenceNote { get; init; }

    /// <summary>Readings the agent's outbox has dropped because it was full, since the outbox was made (a count that only grows).</summary>
    public long OutboxDroppedReadings { get; init; }
}

public sealed record SensorRecord(string Id, string Kind, string Domain, ReadingProvenance Provenance, string? Note = null);

/// <summary>Energy used by one agent in one domain over [Time − Interval, Time).</summary>
public sealed record ReadingRecord(
    long Sequence,
    DateTimeOffset Time,
    TimeSpan Interval,
    string SensorId,
    string Domain,
    double EnergyJoules,
    ReadingProvenance Provenance)
{
    public double PowerWatts => EnergyJoules / Interval.TotalSeconds;
}

/// <summary>Outcome of appending one batch: what is durable now and what the batch added.</summary>
public sealed record AppendResult(long DurableSequence, int Accepted, int Duplicates);

/// <summary>Running totals of an agent's telemetry, kept with the readings in the same transaction.</summary>
public sealed record TelemetrySummary(
    string AgentId,
    long DurableSequence,
    long ReadingCount,
    double EnergyJoules,
    DateTimeOffset? LastReadingAt,
    IReadOnlyDictionary<string, double> LatestPowerWattsByDomain,
    DateTimeOffset? LastReceivedAt)
{
    /// <summary>The node's power: whole-node domains where reported, else the sum of the components.</summary>
    public double PowerWatts => EdgeGreen.Contracts.EnergyDomains.NodeTotal(LatestPowerWattsByDomain, d => d.Key, d => d.Value);
}

public sealed record ApiKeyRecord(string Id, string Name, ApiKeyRole Role, string KeyHash, DateTimeOffset CreatedAt);

public sealed record EnrollmentTokenRecord(string TokenHash, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);
