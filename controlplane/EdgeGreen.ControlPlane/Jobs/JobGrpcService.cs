using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace EdgeGreen.ControlPlane.Jobs;

[Authorize(Policy = Policies.Agent)]
public sealed partial class JobGrpcService(
    JobScheduler scheduler,
    Cluster.LeaderForwarding leader,
    JobDispatcher dispatcher,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<JobGrpcService> logger) : JobService.JobServiceBase
{
    private const int MaxRunningJobs = 4096;
    private const int MaxErrorLength = 2000;

    public override async Task Watch(WatchJobsRequest request, IServerStreamWriter<JobCommand> responseStream, ServerCallContext context)
    {
        if (request.RunningJobIds.Count > MaxRunningJobs)
        {
            throw Invalid($"at most {MaxRunningJobs} running jobs may be named.");
        }

        var agentId = context.AgentId();
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        if (!leader.IsLeader)
        {
            await RelayWatchAsync(request, responseStream, context, stream.Token);
            return;
        }

        var openedAt = timeProvider.GetUtcNow();
        var channel = dispatcher.Connect(agentId);
        try
        {
            // The greeting tells the agent that the stream is open before any job is due.
            await responseStream.WriteAsync(new JobCommand(), stream.Token);
            await scheduler.ConnectAsync(agentId, [.. request.RunningJobIds], openedAt, stream.Token);
            LogWatching(agentId, request.RunningJobIds.Count);
            await foreach (var command in channel.Reader.ReadAllAsync(stream.Token))
            {
                await responseStream.WriteAsync(command, stream.Token);
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The control plane is shutting down; reconnect."));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.CancellationToken.IsCancellationRequested)
        {
            // The agent hung up (a restart, a network cut): its jobs keep their leases until they run out.
        }
        finally
        {
            dispatcher.Disconnect(agentId, channel);
            scheduler.RequestReplan();
        }
    }

    public override async Task<ReportProgressResponse> ReportProgress(ReportProgressRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.JobId) || !double.IsFinite(request.Fraction) || !double.IsFinite(request.EnergyJoules) || request.EnergyJoules < 0)
        {
            throw Invalid("job_id is required, fraction must be finite and energy_joules finite and not negative.");
        }

        try
        {
            return leader.IsLeader
                ? await scheduler.ReportProgressAsync(context.AgentId(), request, context.CancellationToken)
                : await new JobService.JobServiceClient(leader.LeaderCalls()).ReportProgressAsync(request, Cluster.LeaderForwarding.Credentials(context),
                    cancellationToken: context.CancellationToken);
        }
        catch (JobStateException ex)
        {
            throw StateError(ex);
        }
    }

    private const int MaxDomains = 64;
    private const int MaxDomainLength = 128;

    public override async Task<CompleteJobResponse> Complete(CompleteJobRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.JobId))
        {
            throw Invalid("job_id is required.");
        }

        if (request.Outcome == JobOutcome.Unspecified)
        {
            throw Invalid("outcome is required.");
        }

        if (request.StartedAt is null || request.FinishedAt is null)
        {
            throw Invalid("started_at and finished_at are required.");
        }

        if (!Instants.IsPlausible(request.StartedAt.Seconds, request.StartedAt.Nanos) || !Instants.IsPlausible(request.FinishedAt.Seconds, request.FinishedAt.Nanos))
        {
            throw Invalid($"started_at and finished_at must be {Instants.Range}.");
        }

        if (request.FinishedAt.ToDateTimeOffset() < request.StartedAt.ToDateTimeOffset())
        {
            throw Invalid("finished_at may not be before started_at.");
        }

        if (!double.IsFinite(request.EnergyJoules) || request.EnergyJoules < 0)
        {
            throw Invalid("energy_joules must be finite and not negative.");
        }

        if (request.HasEmbodiedCarbonGrams && !(double.IsFinite(request.EmbodiedCarbonGrams) && request.EmbodiedCarbonGrams >= 0))
        {
            throw Invalid("embodied_carbon_grams must be finite and not negative.");
        }

        if (request.Error.Length > MaxErrorLength)
        {
            throw Invalid($"error may be at most {MaxErrorLength} characters.");
        }

        if (request.Domains.Count > MaxDomains
            || request.Domains.Any(d => d.Domain.Length is 0 or > MaxDomainLength || ControlCharacters.AnyIn(d.Domain) || !double.IsFinite(d.EnergyJoules) || d.EnergyJoules < 0)
            || request.Domains.Select(d => d.Domain).Distinct(StringComparer.Ordinal).Count() != request.Domains.Count)
        {
            throw Invalid($"domains: at most {MaxDomains}, each named once (1 to {MaxDomainLength} characters, no control characters) with finite, non-negative energy_joules.");
        }

        if (request.Domains.Count > 0 && Math.Abs(request.Domains.Sum(d => d.EnergyJoules) - request.EnergyJoules) > 1e-6 * Math.Max(1, request.EnergyJoules))
        {
            throw Invalid("energy_joules must be the sum of the domains' energy_joules.");
        }

        try
        {
            if (!leader.IsLeader)
            {
                return await new JobService.JobServiceClient(leader.LeaderCalls()).CompleteAsync(request, Cluster.LeaderForwarding.Credentials(context),
                    cancellationToken: context.CancellationToken);
            }

            await scheduler.CompleteAsync(context.AgentId(), request, context.CancellationToken);
            return new CompleteJobResponse();
        }
        catch (JobStateException ex)
        {
            throw StateError(ex);
        }
    }

    /// <summary>
    /// On a replica that does not lead: the agent's job stream, relayed from the leader (which
    /// plans, leases and sends the jobs). When the leader goes away the stream ends with
    /// <c>Unavailable</c> and the agent reconnects, to this replica or another, which relays from
    /// the new leader.
    /// </summary>
    private async Task RelayWatchAsync(WatchJobsRequest request, IServerStreamWriter<JobCommand> responseStream, ServerCallContext context, CancellationToken cancellationToken)
    {
        try
        {
            using var call = new JobService.JobServiceClient(leader.LeaderCalls()).Watch(request, Cluster.LeaderForwarding.Credentials(context), cancellationToken: cancellationToken);
            await foreach (var command in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await responseStream.WriteAsync(command, cancellationToken);
            }

            throw new RpcException(new Status(StatusCode.Unavailable, "The leader ended the job stream; reconnect."));
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && context.CancellationToken.IsCancellationRequested)
        {
            // The agent hung up.
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Cancelled or StatusCode.DeadlineExceeded)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The job stream from the leader ended ({ex.Status.Detail}); reconnect."));
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The control plane is shutting down; reconnect."));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.CancellationToken.IsCancellationRequested)
        {
            // The agent hung up.
        }
    }

    private static RpcException StateError(JobStateException ex) =>
        new(new Status(ex.NotFound ? StatusCode.NotFound : StatusCode.FailedPrecondition, ex.Message));

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} is watching for jobs ({Running} running)")]
    private partial void LogWatching(string agentId, int running);
}
