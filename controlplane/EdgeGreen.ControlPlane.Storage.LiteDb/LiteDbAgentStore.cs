using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

public sealed class LiteDbAgentStore : IAgentStore
{
    private readonly LiteDbDatabase _database;

    private ILiteCollection<AgentDocument> Agents => _database.Database.GetCollection<AgentDocument>("agents");

    public LiteDbAgentStore(LiteDbDatabase database)
    {
        _database = database;
        Agents.EnsureIndex(a => a.CredentialHash, unique: true);
    }

    public Task AddAsync(AgentRecord agent, CancellationToken cancellationToken)
    {
        _database.Write(_ => Agents.Insert(AgentDocument.From(agent)));
        return Task.CompletedTask;
    }

    public Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(Agents.FindById(agentId)?.ToRecord());

    public Task<AgentRecord?> FindByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken) =>
        Task.FromResult(Agents.FindOne(a => a.CredentialHash == credentialHash)?.ToRecord());

    public Task<IReadOnlyList<AgentRecord>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AgentRecord>>(Agents.Query().OrderBy(a => a.Name).ToList().Select(a => a.ToRecord()).ToList());

    public Task<bool> ReportStateAsync(string agentId, AgentReportedState state, DateTimeOffset seenAt, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            if (Agents.FindById(agentId) is not { } agent)
            {
                return false;
            }

            var updated = AgentDocument.From(agent.ToRecord() with
            {
                Zone = state.Zone,
                Labels = state.Labels,
                LastHeartbeatAt = seenAt,
                State = state,
            });
            return Agents.Update(updated);
        }));

    public Task<bool> SetZoneOverrideAsync(string agentId, string? zone, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
            Agents.FindById(agentId) is { } agent && Agents.Update(AgentDocument.From(agent.ToRecord() with { ZoneOverride = zone }))));

    /// <summary>Storage shape: instants as UTC ticks, so nothing depends on LiteDB's date handling.</summary>
    internal sealed class AgentDocument
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public string Zone { get; set; } = "";

        public string? ZoneOverride { get; set; }

        public Dictionary<string, string> Labels { get; set; } = [];

        public string CredentialHash { get; set; } = "";

        public long EnrolledAtTicks { get; set; }

        public long? LastHeartbeatAtTicks { get; set; }

        public StateDocument? State { get; set; }

        public static AgentDocument From(AgentRecord agent) => new()
        {
            Id = agent.Id,
            Name = agent.Name,
            Zone = agent.Zone,
            ZoneOverride = agent.ZoneOverride,
            Labels = new Dictionary<string, string>(agent.Labels),
            CredentialHash = agent.CredentialHash,
            EnrolledAtTicks = agent.EnrolledAt.UtcTicks,
            LastHeartbeatAtTicks = agent.LastHeartbeatAt?.UtcTicks,
            State = agent.State is { } s ? StateDocument.From(s) : null,
        };

        public AgentRecord ToRecord() => new(Id, Name, Zone, Labels, CredentialHash, Ticks.ToInstant(EnrolledAtTicks),
            LastHeartbeatAtTicks is { } seen ? Ticks.ToInstant(seen) : null, State?.ToRecord(Zone, Labels), ZoneOverride);
    }

    internal sealed class StateDocument
    {
        public string AgentVersion { get; set; } = "";

        public string OsDescription { get; set; } = "";

        public string RuntimeVersion { get; set; } = "";

        public List<SensorDocument> Sensors { get; set; } = [];

        public int CpuCores { get; set; }

        public long MemoryBytes { get; set; }

        public int Gpus { get; set; }

        public List<string> JobKinds { get; set; } = [];

        public List<string> InferenceProviders { get; set; } = [];

        public string? InferenceProvider { get; set; }

        public string? InferenceNote { get; set; }

        public long OutboxDroppedReadings { get; set; }

        public static StateDocument From(AgentReportedState state) => new()
        {
            AgentVersion = state.AgentVersion,
            OsDescription = state.OsDescription,
            RuntimeVersion = state.RuntimeVersion,
            Sensors = [.. state.Sensors.Select(s => new SensorDocument { Id = s.Id, Kind = s.Kind, Domain = s.Domain, Provenance = s.Provenance, Note = s.Note })],
            CpuCores = state.CpuCores,
            MemoryBytes = state.MemoryBytes,
            Gpus = state.Gpus,
            JobKinds = [.. state.JobKinds],
            InferenceProviders = [.. state.InferenceProviders],
            InferenceProvider = state.InferenceProvider,
            InferenceNote = state.InferenceNote,
            OutboxDroppedReadings = state.OutboxDroppedReadings,
        };

        public AgentReportedState ToRecord(string zone, IReadOnlyDictionary<string, string> labels) => new(AgentVersion, OsDescription, RuntimeVersion,
            zone, labels, [.. Sensors.Select(s => new SensorRecord(s.Id, s.Kind, s.Domain, s.Provenance, s.Note))], CpuCores, MemoryBytes, Gpus, JobKinds)
        {
            InferenceProviders = InferenceProviders,
            InferenceProvider = InferenceProvider,
            InferenceNote = InferenceNote,
            OutboxDroppedReadings = OutboxDroppedReadings,
        };
    }

    internal sealed class SensorDocument
    {
        public string Id { get; set; } = "";

        public string Kind { get; set; } = "";

        public string Domain { get; set; } = "";

        public ReadingProvenance Provenance { get; set; }

        public string? Note { get; set; }
    }
}
