using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace EdgeGreen.ControlPlane.Ingest;

[Authorize(Policy = Policies.Agent)]
public sealed partial class AgentGrpcService(
    IAgentStore agents,
    IAccessStore access,
    JobScheduler scheduler,
    Cluster.LeaderForwarding leader,
    Core.Deployments.DeploymentCatalog deployments,
    Core.Deployments.DeploymentObservations observations,
    TimeProvider timeProvider,
    ILogger<AgentGrpcService> logger) : AgentService.AgentServiceBase
{
    private const int MaxNameLength = 128;
    private const int MaxZoneLength = 64;
    private const int MaxLabels = 64;

    [AllowAnonymous]
    public override async Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        var name = request.Name.Trim();
        if (name.Length is 0 or > MaxNameLength)
        {
            throw Invalid($"name must be 1 to {MaxNameLength} characters.");
        }

        // Everything is checked before the one-time token is spent: a refused request leaves it usable.
        if (ControlCharacters.Problem("name", name) is { } control)
        {
            throw Invalid(control);
        }

        ValidatePlacement(request.Zone, request.Labels);
        if (string.IsNullOrWhiteSpace(request.EnrollmentToken)
            || !await access.TryConsumeEnrollmentTokenAsync(Secrets.Hash(request.EnrollmentToken), timeProvider.GetUtcNow(), context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "The enrollment token is invalid, expired or already used."));
        }

        var credential = Secrets.New(Secrets.AgentCredentialPrefix);
        var agent = new AgentRecord(Secrets.NewId(), name, request.Zone, request.Labels.ToDictionary(), Secrets.Hash(credential),
            timeProvider.GetUtcNow(), null, null);
        await agents.AddAsync(agent, context.CancellationToken);
        LogEnrolled(agent.Id, agent.Name, agent.Zone);
        return new RegisterResponse { AgentId = agent.Id, Credential = credential };
    }

    public override async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        var state = request.State ?? throw Invalid("state is required.");
        ValidatePlacement(state.Zone, state.Labels);
        if (state.Sensors.Count > 256)
        {
            throw Invalid("at most 256 sensors may be reported.");
        }

        if (!leader.IsLeader)
        {
            // The leader keeps leases: it stores the state and renews the running jobs.
            return await new AgentService.AgentServiceClient(leader.LeaderCalls()).HeartbeatAsync(request, Cluster.LeaderForwarding.Credentials(context),
                cancellationToken: context.CancellationToken);
        }

        var now = timeProvider.GetUtcNow();
        var reported = new AgentReportedState(
            Truncate(state.AgentVersion), Truncate(state.OsDescription), Truncate(state.RuntimeVersion), state.Zone, state.Labels.ToDictionary(),
            [.. state.Sensors.Select(s => new SensorRecord(Truncate(s.Id), Truncate(s.Kind), Truncate(s.Domain),
                s.Provenance == Provenance.Measured ? ReadingProvenance.Measured : ReadingProvenance.Modelled,
                string.IsNullOrEmpty(s.Note) ? null : Truncate(s.Note, 1000)))],
            Math.Max(0, state.Capacity?.CpuCores ?? 0), Math.Max(0, state.Capacity?.MemoryBytes ?? 0), Math.Max(0, state.Capacity?.Gpus ?? 0),
            [.. state.JobKinds.Take(64).Select(kind => Truncate(kind))])
        {
            InferenceProviders = [.. state.InferenceProviders.Take(32).Select(p => Truncate(p))],
            InferenceProvider = string.IsNullOrEmpty(state.InferenceProvider) ? null : Truncate(state.InferenceProvider),
            InferenceNote = string.IsNullOrEmpty(state.InferenceNote) ? null : Truncate(state.InferenceNote, 1000),
            OutboxDroppedReadings = (long)Math.Min(state.OutboxDroppedReadings, long.MaxValue),
        };
        if (!await agents.ReportStateAsync(context.AgentId(), reported, now, context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.NotFound, "The agent is not enrolled."));
        }

        scheduler.Renew(context.AgentId(), request.RunningJobIds.Take(4096));
        scheduler.StateReported(context.AgentId());
        observations.Record(context.AgentId(), request.Serving);

        var response = new HeartbeatResponse { ServerTime = Timestamp.FromDateTimeOffset(now), DeploymentsKnown = true };
        response.Deployments.Add(await deployments.DesiredForAsync(context.AgentId(), context.CancellationToken));
        return response;
    }

    private static void ValidatePlacement(string zone, IDictionary<string, string> labels)
    {
        if (zone.Length > MaxZoneLength)
        {
            throw Invalid($"zone must be at most {MaxZoneLength} characters.");
        }

        if (labels.Count > MaxLabels || labels.Any(l => l.Key.Length is 0 or > 63 || l.Value.Length > 256))
        {
            throw Invalid($"at most {MaxLabels} labels, each with a 1-63 character key and a value of at most 256 characters.");
        }

        var control = ControlCharacters.Problem("zone", zone)
            ?? labels.Select(l => ControlCharacters.Problem($"label key '{Printable(l.Key)}'", l.Key)
                ?? ControlCharacters.Problem($"the value of label '{Printable(l.Key)}'", l.Value)).FirstOrDefault(p => p is not null);
        if (control is not null)
        {
            throw Invalid(control);
        }
    }

    /// <summary>A name fit to quote in an error: its control characters as spaces.</summary>
    private static string Printable(string name) => ControlCharacters.Blank(name);

    /// <summary>Reported text is kept, not refused: cut to its length, its control characters as spaces.</summary>
    private static string Truncate(string value, int maxLength = 256) => ControlCharacters.Blank(value.Length <= maxLength ? value : value[..maxLength]);

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));

    [LoggerMessage(Level = LogLevel.Information, Message = "Enrolled agent {AgentId} ({Name}) in zone {Zone}")]
    private partial void LogEnrolled(string agentId, string name, string zone);
}
