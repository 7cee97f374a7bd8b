using System.Diagnostics;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// CPU work for a given time: <c>threads</c> dedicated threads (default 1, at most 256) each spin
/// on integer arithmetic for <c>duration</c> (ISO 8601, at most 7 days). It draws real power,
/// so it is the reference load for energy measurement and for the scheduler.
/// </summary>
public sealed class BurnJob : IJobKind
{

    public JobKind Spec => JobKinds.Burn;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        Spec.ThrowIfInvalid(execution.Parameters);

        var duration = Spec.ImpliedDuration(execution.Parameters)!.Value;
        var threads = TimedWork.Threads(execution.Parameters);
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, threads)
            .Select(_ => Task.Factory.StartNew(() => Spin(execution.Cpu, started, duration, cancellationToken), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        var all = Task.WhenAll(workers);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None));
            execution.ReportProgress(Math.Min(1, Stopwatch.GetElapsedTime(started) / duration));
        }

        await all;
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static ulong Spin(JobCpuUsage cpu, long started, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var tracked = cpu.TrackCurrentThread();
        // xorshift keeps the core busy on work the JIT cannot fold away.
        var state = 0x9E3779B97F4A7C15UL;
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < 100_000; i++)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
            }
        }

        return state;
    }
}
