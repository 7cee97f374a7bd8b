namespace EdgeGreen.ControlPlane.Tests;

internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds, failing with <paramref name="what"/> after the timeout.</summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(condition, timeout, () => what);

    /// <summary>As above, with a description made at the timeout, so that it can say where things stood.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {timeout} waiting until {what()}.");
            }

            await Task.Delay(25);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>
    /// Waits until <paramref name="remaining"/> reaches zero, failing only when it has not fallen for
    /// <paramref name="stall"/>: a backlog that drains slowly on a loaded machine passes, one that
    /// stops draining fails, whatever the machine's speed.
    /// </summary>
    public static async Task WaitUntilDrainedAsync(Func<long> remaining, TimeSpan stall, Func<string> what)
    {
        var lowest = remaining();
        var lastProgress = DateTimeOffset.UtcNow;
        while (lowest > 0)
        {
            await Task.Delay(25);
            var now = remaining();
            if (now < lowest)
            {
                lowest = now;
                lastProgress = DateTimeOffset.UtcNow;
            }
            else if (DateTimeOffset.UtcNow - lastProgress > stall)
            {
                Assert.Fail($"Nothing drained for {stall} ({now} left) waiting until {what()}.");
            }
        }
    }
}
