using System.Diagnostics;
using EdgeGreen.Agent.Jobs;

namespace EdgeGreen.Agent.Tests.Jobs;

public sealed class BurnJobTests
{
    private readonly BurnJob _burn = new();

    [Fact]
    public async Task RunAsync_ForItsDuration_KeepsItsThreadsBusyAndReportsFullProgress()
    {
        var progress = new List<double>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var cpu = new JobCpuUsage("/proc");

        await _burn.RunAsync(new JobExecution("j", Parameters(("duration", "PT0.6S"), ("threads", "2")), 2, progress.Add, cpu), CancellationToken.None);

        var processMicroseconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).Ticks / 10;
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.6), TimeSpan.FromSeconds(10));
        // The job's own threads were tracked in /proc, so its energy can follow its CPU time: they
        // spun (how much depends on what else this machine runs, so only "clearly some") and are
        // part of this process's CPU time (with a tick of /proc's granularity to spare).
        var jobMicroseconds = cpu.ReadMicroseconds();
        Assert.InRange(jobMicroseconds, 10_000, processMicroseconds + 20_000);
        Assert.Equal(1, progress[^1]);
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsPromptly()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            _burn.RunAsync(new JobExecution("j", Parameters(("duration", "PT1H")), 1, _ => { }, new JobCpuUsage("/proc")), cancellation.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("duration", "PT0S")]
    [InlineData("duration", "soon")]
    [InlineData("duration", "P8D")]
    [InlineData("threads", "0")]
    [InlineData("threads", "-1")]
    [InlineData("threads", "1.5")]
    [InlineData("colour", "blue")]
    public void Validate_BadParameter_NamesIt(string name, string value)
    {
        var parameters = new Dictionary<string, string> { ["duration"] = "PT1S", [name] = value };

        Assert.Contains(name, _burn.Spec.Validate(parameters).Keys);
    }

    [Fact]
    public void Validate_MissingDuration_IsAnError() => Assert.Contains("duration", _burn.Spec.Validate(new Dictionary<string, string>()).Keys);

    [Fact]
    public void ImpliedDuration_IsTheDurationParameter() =>
        Assert.Equal(TimeSpan.FromMinutes(90), _burn.Spec.ImpliedDuration(Parameters(("duration", "PT1H30M"))));

    private static Dictionary<string, string> Parameters(params (string Key, string Value)[] values) => values.ToDictionary(v => v.Key, v => v.Value);
}
