using System.Reflection;
using System.Runtime.InteropServices;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Uplink;

/// <summary>
/// Reports the agent's state (versions, zone, labels, sensors, capacity, job kinds), the jobs it
/// is running, which renews their leases, its outbox's drop count, and the deployment versions it serves with their
/// measurements, every <see cref="AgentOptions.HeartbeatInterval"/>; hands each response's desired
/// deployments to the <see cref="Serving.DeploymentReconciler"/>.
/// </summary>
public sealed partial class HeartbeatService(
    AgentConnection connection,
    IEnumerable<IEnergySensor> sensors,
    IEnumerable<IJobKind> jobKinds,
    Jobs.Ml.InferenceProviders inference,
    RunningJobs runningJobs,
    Serving.DeploymentReconciler deployments,
    Outbox.ReadingOutbox outbox,
    AgentMetrics metrics,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    LogThrottle throttle,
    ILogger<HeartbeatService> logger) : BackgroundService
{
    public static string AgentVersion { get; } =
        typeof(HeartbeatService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, timeProvider);
        do
        {
            try
            {
                var headers = await connection.GetCallHeadersAsync(stoppingToken);
                var client = await connection.GetAgentClientAsync(stoppingToken);
                var request = new HeartbeatRequest { State = DescribeState() };
                request.RunningJobIds.Add(runningJobs.Ids);
                request.Serving.Add(deployments.Report());
                var response = await client.HeartbeatAsync(request, headers,
                    deadline: timeProvider.GetUtcNow().UtcDateTime + CallTimeout(options.Value.HeartbeatInterval), cancellationToken: stoppingToken);

                // Only hands the desired deployments over: loading runs on the reconciler's own loop.
                deployments.Apply(response);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or HttpRequestException)
            {
                metrics.HeartbeatFailures.Inc();
                if (throttle.ShouldLog("heartbeat", out var suppressed))
                {
                    LogHeartbeatFailed(ex.Message, suppressed);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// A slow heartbeat still renews leases, so it is given at least five seconds; the timer skips
    /// the ticks it overlaps.
    /// </summary>
    private static TimeSpan CallTimeout(TimeSpan interval) => interval > TimeSpan.FromSeconds(5) ? interval : TimeSpan.FromSeconds(5);

    internal AgentState DescribeState()
    {
        var state = new AgentState
        {
            AgentVersion = AgentVersion,
            OsDescription = RuntimeInformation.OSDescription,
            RuntimeVersion = RuntimeInformation.FrameworkDescription,
            Zone = options.Value.Zone,
            Capacity = new Capacity
            {
                CpuCores = Environment.ProcessorCount,
                MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            },
        };
        state.Labels.Add(options.Value.Labels);
        state.JobKinds.Add(jobKinds.Select(k => k.Spec.Name));
        state.InferenceProviders.Add(inference.Available);
        state.InferenceProvider = inference.Chosen;
        state.InferenceNote = inference.Note ?? "";
        state.OutboxDroppedReadings = (ulong)Math.Max(0, outbox.Dropped);
        foreach (var descriptor in sensors.SelectMany(s => s.Describe()))
        {
            state.Sensors.Add(new SensorInfo
            {
                Id = descriptor.SensorId,
                Kind = descriptor.Kind,
                Domain = descriptor.Domain,
                Provenance = descriptor.Provenance == EnergyProvenance.Measured ? Provenance.Measured : Provenance.Modelled,
                Note = descriptor.Note ?? "",
            });
        }

        return state;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed: {Reason} ({Suppressed} more failures since the last such line)")]
    private partial void LogHeartbeatFailed(string reason, long suppressed);
}
