using System.Collections.Concurrent;
using EdgeGreen.Contracts.V1;

namespace EdgeGreen.Agent.Jobs;

/// <summary>The jobs this agent is running now; heartbeats and reconnects name them to keep their leases.</summary>
public sealed class RunningJobs
{
    private readonly ConcurrentDictionary<string, RunningJob> _jobs = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Ids => [.. _jobs.Keys];

    public int Count => _jobs.Count;

    internal bool TryAdd(RunningJob job) => _jobs.TryAdd(job.Assignment.JobId, job);

    internal void Remove(string jobId) => _jobs.TryRemove(jobId, out _);

    internal IReadOnlyList<RunningJob> Snapshot() => [.. _jobs.Values];

    /// <summary>Stops a running job with a reason; false when it is not running here.</summary>
    public bool Stop(string jobId, string reason)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            return false;
        }

        job.Stop(reason);
        return true;
    }
}

/// <summary>One job in progress and the means to stop it.</summary>
internal sealed class RunningJob(JobAssignment assignment, DateTimeOffset startedAt, CancellationToken stopping) : IDisposable
{
    private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    private double _fraction;

    public JobAssignment Assignment { get; } = assignment;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public CancellationToken Token => _cancellation.Token;

    public string? StopReason { get; private set; }

    public Task Completion { get; set; } = Task.CompletedTask;

    /// <summary>What the job says it is doing, if it says.</summary>
    public string? Phase { get; set; }

    /// <summary>Where the job's CPU time is tracked for attribution.</summary>
    public JobCpuUsage Cpu { get; set; } = new("/proc");

    public double Fraction
    {
        get => Volatile.Read(ref _fraction);
        set => Volatile.Write(ref _fraction, Math.Clamp(value, 0, 1));
    }

    public void Stop(string reason)
    {
        StopReason ??= reason;
        _cancellation.Cancel();
    }

    public void Dispose() => _cancellation.Dispose();
}
