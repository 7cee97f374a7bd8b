namespace EdgeGreen.Agent;

/// <summary>Wakes every waiter when something changed; waiters re-check their own condition.</summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _next = NewSource();

    public Task WaitAsync(CancellationToken cancellationToken) => Volatile.Read(ref _next).Task.WaitAsync(cancellationToken);

    public void Notify() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
