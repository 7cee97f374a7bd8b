using System.Net;
using System.Net.Http.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

/// <summary>The scheduler's lock is never held while a completion handler does its I/O.</summary>
public sealed class SchedulerLockTests : JobsTest
{
    private const string SlowJob = "slow-completion";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly SlowHandler _handler = new();

    [Fact]
    public async Task Complete_WhileAHandlerReadsItsOutput_SubmissionsAndDispatchGoOn()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane, "raw-worker");
        var state = new AgentState { Zone = "ES", Capacity = new Capacity { CpuCores = 4 } };
        state.JobKinds.Add("burn");
        await agent.Agents.HeartbeatAsync(new HeartbeatRequest { State = state }, agent.Headers);
        using var watch = agent.Jobs.Watch(new WatchJobsRequest(), agent.Headers);
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        var id = (await SubmitAcceptedAsync(Burn(SlowJob, "PT1S", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(id, watch.ResponseStream.Current.Assign.JobId);

        var completing = agent.Jobs.CompleteAsync(new CompleteJobRequest
        {
            JobId = id,
            Outcome = JobOutcome.Succeeded,
            StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
            FinishedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            EnergyJoules = 5,
        }, agent.Headers).ResponseAsync;
        await _handler.Entered.Task.WaitAsync(Patience);

        // The handler still holds the completion: another submission is planned and dispatched meanwhile.
        using var next = await Client.PostAsJsonAsync("/api/v1/jobs", Burn("meanwhile", "PT1S", new { estimatedPowerWatts = 5.0 })).WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience));
        Assert.Equal("meanwhile", watch.ResponseStream.Current.Assign.Name);
        Assert.False(completing.IsCompleted);

        _handler.Release.SetResult();
        await completing.WaitAsync(Patience);
        Assert.Equal("succeeded", (await GetJobAsync(id)).GetProperty("status").GetString());
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IJobLifecycleHandler>(_handler);

    /// <summary>A completion handler that takes as long as the test says, as one reading a large output would.</summary>
    private sealed class SlowHandler : IJobLifecycleHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task OnCompletedAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
        {
            if (job.Name == SlowJob && report is not null)
            {
                Entered.TrySetResult();
                await Release.Task.WaitAsync(cancellationToken);
            }
        }
    }
}
