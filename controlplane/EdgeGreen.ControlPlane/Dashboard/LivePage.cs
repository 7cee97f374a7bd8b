using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>
/// A page that loads its data, shows it, and keeps it current once interactive: it reloads within
/// a second of a feed event on one of its <see cref="Topics"/>, and every <see cref="RefreshEvery"/>
/// regardless (for what no event announces, such as an agent going quiet). A failed load keeps the
/// last data on screen and says why.
/// </summary>
public abstract partial class LivePage<T> : ComponentBase, IDisposable
    where T : class
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stop = new();
    private LiveSubscription? _subscription;
    private Task? _loop;
    private int _generation;

    [Inject]
    private LiveEvents Live { get; set; } = default!;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    [Inject]
    private ILogger<LivePage<T>> Logger { get; set; } = default!;

    /// <summary>The last data loaded; null until the first load ends.</summary>
    protected T? Data { get; private set; }

    /// <summary>Why the last load failed, or null.</summary>
    protected string? LoadError { get; private set; }

    /// <summary>When the data on screen was loaded.</summary>
    protected DateTimeOffset? LoadedAt { get; private set; }

    protected abstract LiveTopic[] Topics { get; }

    /// <summary>The one subject (an agent's id) whose events concern this page, or null for all.</summary>
    protected virtual string? Subject => null;

    protected virtual TimeSpan RefreshEvery => TimeSpan.FromSeconds(15);

    protected abstract Task<T> LoadAsync(CancellationToken cancellationToken);

    protected override async Task OnParametersSetAsync()
    {
        // The same page for another subject (another agent's id in the route): follow that one's events.
        if (_subscription is not null && !string.Equals(_subscription.Subject, Subject, StringComparison.Ordinal))
        {
            _subscription.Dispose();
            _subscription = Live.Subscribe(Topics, Subject);
        }

        await ReloadAsync();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender && RendererInfo.IsInteractive)
        {
            _subscription = Live.Subscribe(Topics, Subject);
            _loop = RefreshLoopAsync(_stop.Token);
            try
            {
                // Marks the document live again: an enhanced navigation that began before the circuit
                // was up replaces the document's attributes, and the layout renders only once.
                await JS.InvokeVoidAsync("edgeGreen.interactive");
            }
            catch (JSDisconnectedException)
            {
                // The page closed as it opened.
            }
        }
    }

    /// <summary>Loads again now (after an action of the page's own).</summary>
    protected async Task ReloadAsync()
    {
        // A timer reload and a navigation's may overlap: only the latest started may show its result.
        var generation = ++_generation;
        try
        {
            var data = await LoadAsync(_stop.Token);
            if (generation != _generation)
            {
                return;
            }

            Data = data;
            LoadedAt = DateTimeOffset.UtcNow;
            LoadError = null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            LogLoadFailed(Logger, ex, GetType().Name);
            // Viewers see what to do, not the server's internals (hosts, ports); the log has the cause.
            LoadError = ex is StorageException storage ? storage.Message : "The page could not load its data; the control plane's log says why. It tries again shortly.";
        }
    }

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Tick);
        var sinceReload = TimeSpan.Zero;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                sinceReload += Tick;
                if (_subscription!.TakeStale() || sinceReload >= RefreshEvery)
                {
                    sinceReload = TimeSpan.Zero;
                    await InvokeAsync(async () =>
                    {
                        await ReloadAsync();
                        StateHasChanged();
                    });
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The page closed.
        }
        catch (ObjectDisposedException)
        {
            // The circuit's renderer went while a reload was queued.
        }
    }

    // The token source is cancelled, not disposed: a reload already queued on the renderer may still read its token.
    public void Dispose()
    {
        _stop.Cancel();
        _subscription?.Dispose();
        GC.SuppressFinalize(this);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dashboard page {Page} could not load its data")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string page);
}
