using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Uplink;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// Runs the jobs the control plane assigns: keeps one <c>JobService.Watch</c> stream open
/// (reconnecting with jittered backoff), starts each assignment with its kind, reports progress
/// with the energy attributed so far (which renews the lease and may tell the job to stop), and
/// writes each completion to the outbox before sending it.
/// A job interrupted by the agent's own shutdown is not reported: its lease runs out and the
/// control plane queues it again.
/// </summary>
public sealed partial class JobRunnerService(
    AgentConnection connection,
    IEnumerable<IJobKind> kinds,
    RunningJobs running,
    JobEnergyLedger ledger,
    JobReportOutbox reports,
    Artifacts.ArtifactTransfer artifacts,
    Ml.InferenceProviders inference,
    AgentMetrics metrics,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    LogThrottle throttle,
    ILogger<JobRunnerService> logger) : BackgroundService
{
    private const int MaxErrorLength = 2000;
    private static readonly TimeSpan ProgressCallTimeout = TimeSpan.FromSeconds(10);
    private readonly Dictionary<string, IJobKind> _kinds = kinds.ToDictionary(k => k.Spec.Name, StringComparer.Ordinal);
    private readonly EmbodiedCarbon? _embodied = EmbodiedCarbon.From(options.Value.Embodied);

    /// <summary>True while the assignment stream is open.</summary>
    public bool IsWatching { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sending = SendReportsAsync(stoppingToken);
        try
        {
            await WatchAsync(stoppingToken);
        }
        finally
        {
            var jobs = running.Snapshot();
            await Task.WhenAll(jobs.Select(j => j.Completion));
            await sending;
        }
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        var uplink = options.Value.Uplink;
        var backoff = new ReconnectBackoff(uplink.ReconnectMinDelay, uplink.ReconnectMaxDelay, Random.Shared);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var headers = await connection.GetCallHeadersAsync(stoppingToken);
                var client = await connection.GetJobClientAsync(stoppingToken);
                var request = new WatchJobsRequest();
                request.RunningJobIds.Add(running.Ids);
                using var call = client.Watch(request, headers, cancellationToken: stoppingToken);
                await foreach (var command in call.ResponseStream.ReadAllAsync(stoppingToken))
                {
                    IsWatching = true;
                    backoff.Reset();
                    Handle(command, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                connection.Invalidate();
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                metrics.JobStreamFailures.Inc();
                if (throttle.ShouldLog("watch", out var suppressed))
                {
                    LogWatchFailed(ex.Message, suppressed);
                }
            }
            finally
            {
                IsWatching = false;
            }

            try
            {
                await Task.Delay(backoff.Next(), timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Handle(JobCommand command, CancellationToken stoppingToken)
    {
        switch (command.CommandCase)
        {
            case JobCommand.CommandOneofCase.Assign:
                Start(command.Assign, stoppingToken);
                break;
            case JobCommand.CommandOneofCase.Cancel:
                if (running.Stop(command.Cancel.JobId, command.Cancel.Reason))
                {
                    LogStopping(command.Cancel.JobId, command.Cancel.Reason);
                }

                break;
            default:
                // An empty command is the server's greeting that the stream is open.
                break;
        }
    }

    private void Start(JobAssignment assignment, CancellationToken stoppingToken)
    {
        var job = new RunningJob(assignment, timeProvider.GetUtcNow(), stoppingToken);
        if (!running.TryAdd(job))
        {
            job.Dispose();
            return;
        }

        job.Cpu = ledger.Start(assignment.JobId);
        metrics.JobsStarted.Inc();
        LogStarting(assignment.JobId, assignment.Name, assignment.Kind, assignment.Attempt);
        job.Completion = RunAsync(job, stoppingToken);
    }

    private async Task RunAsync(RunningJob job, CancellationToken stoppingToken)
    {
        var assignment = job.Assignment;
        var outcome = JobOutcome.Succeeded;
        var error = "";
        JobOutput? output = null;
        var workDirectory = Path.Combine(options.Value.DataDirectory, "jobs", assignment.JobId);
        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(job.Token);
        var progress = ReportProgressAsync(job, progressStop.Token, stoppingToken);
        try
        {
            if (!_kinds.TryGetValue(assignment.Kind, out var kind))
            {
                throw new NotSupportedException($"This agent does not run jobs of kind '{assignment.Kind}'.");
            }

            var parameters = new Dictionary<string, string>(assignment.Parameters);
            PrivateDirectory.Create(workDirectory);
            var execution = new JobExecution(assignment.JobId, parameters, assignment.Resources?.CpuCores ?? 1, fraction => job.Fraction = fraction, job.Cpu)
            {
                ReportPhase = phase => job.Phase = phase,
                EnergyJoules = () => ledger.Read(assignment.JobId).EnergyJoules,
                InferenceProvider = inference.Chosen,
                Embodied = _embodied,
                Artifacts = artifacts,
                WorkDirectory = workDirectory,
            };
            output = execution.Output;
            await Task.Run(() => kind.RunAsync(execution, job.Token), job.Token);
            job.Fraction = 1;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The agent is stopping: the job is interrupted, not finished, and is left to its lease.
            outcome = JobOutcome.Unspecified;
        }
        catch (OperationCanceledException) when (job.Token.IsCancellationRequested)
        {
            outcome = JobOutcome.Cancelled;
            error = job.StopReason ?? "Stopped.";
        }
        catch (Exception ex)
        {
            outcome = JobOutcome.Failed;
            error = ex.Message.Length <= MaxErrorLength ? ex.Message : ex.Message[..MaxErrorLength];
            LogJobFailed(ex, assignment.JobId);
        }
        finally
        {
            await progressStop.CancelAsync();
            await progress;
            DeleteWorkDirectory(workDirectory);
        }

        var energy = ledger.Stop(assignment.JobId);
        try
        {
            if (outcome != JobOutcome.Unspecified)
            {
                var finishedAt = timeProvider.GetUtcNow();
                var report = new CompleteJobRequest
                {
                    JobId = assignment.JobId,
                    Outcome = outcome,
                    StartedAt = Timestamp.FromDateTimeOffset(job.StartedAt),
                    FinishedAt = Timestamp.FromDateTimeOffset(finishedAt),
                    EnergyJoules = energy.EnergyJoules,
                    Provenance = ToContract(energy.Provenance),
                    Error = error,
                    Domains = { energy.Domains.Select(d => new DomainEnergyReport { Domain = d.Domain, EnergyJoules = d.EnergyJoules, Provenance = ToContract(d.Provenance) }) },
                    Output = outcome == JobOutcome.Succeeded ? output : null,
                };
                if (_embodied is not null)
                {
                    report.EmbodiedCarbonGrams = _embodied.Grams(finishedAt - job.StartedAt, assignment.Resources?.CpuCores ?? 1);
                }

                reports.Add(report);
                metrics.JobsFinished.WithLabels(outcome.ToString().ToLowerInvariant()).Inc();
                LogFinished(assignment.JobId, outcome, energy.EnergyJoules);
            }
        }
        catch (Exception ex) when (ex is LiteDB.LiteException or IOException)
        {
            // Without the outbox the report cannot be kept; the lease runs out and the job runs again.
            LogReportNotStored(ex, assignment.JobId);
        }
        finally
        {
            running.Remove(assignment.JobId);
            job.Dispose();
        }
    }

    private void DeleteWorkDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException ex)
        {
            LogWorkDirectoryKept(directory, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the job directory {Directory}: {Reason}")]
    private partial void LogWorkDirectoryKept(string directory, string reason);

    private static Provenance ToContract(EnergyProvenance provenance) =>
        provenance == EnergyProvenance.Measured ? Provenance.Measured : Provenance.Modelled;

    /// <summary>
    /// Sends progress every <see cref="JobsOptions.ProgressInterval"/> until <paramref name="cancellationToken"/>
    /// (the job's end); a reply may stop the job. A report already on its way is let finish (within
    /// its deadline) rather than cut off mid-call; only the agent's own stop cancels it.
    /// </summary>
    private async Task ReportProgressAsync(RunningJob job, CancellationToken cancellationToken, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Jobs.ProgressInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    var headers = await connection.GetCallHeadersAsync(stoppingToken);
                    var client = await connection.GetJobClientAsync(stoppingToken);
                    var reply = await client.ReportProgressAsync(new ReportProgressRequest
                    {
                        JobId = job.Assignment.JobId,
                        Fraction = job.Fraction,
                        Phase = job.Phase ?? "",
                        EnergyJoules = ledger.Read(job.Assignment.JobId).EnergyJoules,
                        StartedAt = Timestamp.FromDateTimeOffset(job.StartedAt),
                    }, headers, deadline: timeProvider.GetUtcNow().UtcDateTime + ProgressCallTimeout, cancellationToken: stoppingToken);
                    if (reply.Stop)
                    {
                        job.Stop(reply.StopReason);
                    }
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.NotFound)
                {
                    // The control plane no longer leases the job to this agent: whoever has it now runs it.
                    job.Stop($"The control plane took the job back: {ex.Status.Detail}");
                }
                catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException)
                {
                    LogProgressFailed(job.Assignment.JobId, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The job ended.
        }
    }

    /// <summary>Delivers the outbox's completions, oldest first, whenever one is added and after failures.</summary>
    private async Task SendReportsAsync(CancellationToken stoppingToken)
    {
        var backoff = new ReconnectBackoff(options.Value.Uplink.ReconnectMinDelay, options.Value.Uplink.ReconnectMaxDelay, Random.Shared);
        while (!stoppingToken.IsCancellationRequested)
        {
            var added = reports.WaitAsync(stoppingToken);
            var delivered = true;
            foreach (var report in reports.Pending())
            {
                try
                {
                    var headers = await connection.GetCallHeadersAsync(stoppingToken);
                    var client = await connection.GetJobClientAsync(stoppingToken);
                    await client.CompleteAsync(report, headers, cancellationToken: stoppingToken);
                    reports.Remove(report.JobId);
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.NotFound or StatusCode.InvalidArgument)
                {
                    reports.Remove(report.JobId);
                    metrics.JobReportsRefused.Inc();
                    LogReportRefused(report.JobId, ex.Status.Detail);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException)
                {
                    if (throttle.ShouldLog($"report:{report.JobId}", out var suppressed))
                    {
                        LogReportFailed(report.JobId, ex.Message, suppressed);
                    }
                    delivered = false;
                    break;
                }
            }

            try
            {
                if (delivered)
                {
                    backoff.Reset();
                    await added;
                }
                else
                {
                    await Task.WhenAny(added, Task.Delay(backoff.Next(), timeProvider, stoppingToken));
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job stream failed: {Reason} ({Suppressed} more failures since the last such line)")]
    private partial void LogWatchFailed(string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting job {JobId} ({Name}, kind {Kind}, attempt {Attempt})")]
    private partial void LogStarting(string jobId, string name, string kind, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping job {JobId}: {Reason}")]
    private partial void LogStopping(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ended {Outcome} after {EnergyJoules} J")]
    private partial void LogFinished(string jobId, JobOutcome outcome, double energyJoules);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed")]
    private partial void LogJobFailed(Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The completion of job {JobId} could not be written to the outbox")]
    private partial void LogReportNotStored(Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Progress of job {JobId} not delivered: {Reason}")]
    private partial void LogProgressFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Completion of job {JobId} not delivered yet: {Reason} ({Suppressed} more tries since the last such line)")]
    private partial void LogReportFailed(string jobId, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane refused the completion of job {JobId}: {Reason}")]
    private partial void LogReportRefused(string jobId, string reason);
}
