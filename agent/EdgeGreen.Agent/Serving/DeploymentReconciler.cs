using System.Diagnostics;
using System.Text.RegularExpressions;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Jobs.Ml;
using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// Keeps what the agent serves by deployment equal to what the control plane desires. Each
/// heartbeat response that says <c>deployments_known</c> replaces the desired set
/// (<see cref="Apply"/>); a background pass then, one version at a time, removes the versions no
/// longer desired (new requests stop at once, running ones finish, then the session is disposed)
/// and loads the missing ones: the artifact by its SHA-256 into a per-SHA cache file under the
/// data directory (<c>deployments/artifacts/{sha256}.onnx</c>, verified; a cached file is only
/// re-hashed, so a restarted agent is serving again within a pass), then an ONNX Runtime session on
/// the message's threads (0: 1, as serve jobs) and the provider serve jobs use. A version that fails
/// to load is reported <c>failed</c> with the reason and tried again after
/// <see cref="FirstRetry"/>, doubling to <see cref="MaxRetry"/>. A response without
/// <c>deployments_known</c> (an older control plane), or no response at all, changes nothing.
/// <para>Energy per version: each version is an account of the <see cref="JobEnergyLedger"/> whose
/// CPU time is the CPU time its requests used (<see cref="ServedModel.CpuMicroseconds"/>), so it
/// gets the share of each sampling interval's active energy that its CPU time is of the node's busy
/// CPU time, exactly as a job does; idle energy belongs to no version, and a GPU's energy is not given
/// to versions (their requests have no process of their own to read GPU use by).</para>
/// <para>Monitoring: a version whose <c>monitoring</c> profile is set gets an
/// <see cref="InferenceMonitor"/> when it is loaded (a new one when only the profile changes), and
/// the monitor is closed, its counts written to the outbox, once the version's last request has
/// finished at unload.</para>
/// </summary>
public sealed partial class DeploymentReconciler : BackgroundService
{
    /// <summary>The wait before a failed version is loaded again; it doubles with each failure.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between tries of a version that keeps failing.</summary>
    public static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(5);

    private const int MaxThreads = 256;

    private readonly ServedModels _models;
    private readonly IArtifacts _artifacts;
    private readonly string _provider;
    private readonly string _cacheDirectory;
    private readonly TimeProvider _timeProvider;
    private readonly JobEnergyLedger? _ledger;
    private readonly AgentMetrics? _metrics;
    private readonly InferenceMonitors? _monitors;
    private readonly ILogger<DeploymentReconciler> _logger;
    private readonly AsyncSignal _changed = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<VersionKey, Slot> _slots = [];
    private IReadOnlyList<Wanted>? _desired;

    public DeploymentReconciler(
        ServedModels models,
        IArtifacts artifacts,
        InferenceProviders providers,
        IOptions<AgentOptions> options,
        TimeProvider timeProvider,
        ILogger<DeploymentReconciler> logger,
        JobEnergyLedger? ledger = null,
        AgentMetrics? metrics = null,
        InferenceMonitors? monitors = null)
    {
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(options);
        _models = models;
        _artifacts = artifacts;
        _provider = providers.Chosen;
        _cacheDirectory = Path.Combine(options.Value.DataDirectory, "deployments", "artifacts");
        _timeProvider = timeProvider;
        _ledger = ledger;
        _metrics = metrics;
        _monitors = monitors;
        _logger = logger;
    }

    /// <summary>
    /// Takes the desired deployments of a heartbeat response, when it has them, and wakes the
    /// background pass; returns at once.
    /// </summary>
    public void Apply(HeartbeatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!response.DeploymentsKnown)
        {
            return;
        }

        var wanted = response.Deployments
            .SelectMany(d => d.Versions.Select(v => new Wanted(new VersionKey(d.Deployment, v.Model, v.Version), v.Sha256, d.Threads, v.Weight, v.Monitoring)))
            .DistinctBy(w => w.Key)
            .ToList();
        lock (_gate)
        {
            _desired = wanted;
        }

        _changed.Notify();
    }

    /// <summary>Each version the agent holds or is loading, with its measurements, for the heartbeat.</summary>
    public IReadOnlyList<ServedDeployment> Report()
    {
        lock (_gate)
        {
            return [.. _slots.Values.Select(slot => slot.Describe(_ledger))];
        }
    }

    /// <summary>
    /// One pass: removes what is no longer desired, then loads every desired version that is not
    /// loaded and not waiting out its backoff. The background loop runs it whenever the desired set
    /// changes or a retry falls due.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<Wanted>? desired;
        List<Slot> removed;
        List<Slot> due;
        List<Slot> reprofiled;
        lock (_gate)
        {
            desired = _desired;
            if (desired is null)
            {
                return;
            }

            var wanted = desired.ToDictionary(w => w.Key);
            removed = [.. _slots.Values.Where(s => !wanted.TryGetValue(s.Key, out var w) || !s.Wants(w))];
            foreach (var slot in removed)
            {
                _slots.Remove(slot.Key);
            }

            reprofiled = [];
            foreach (var want in desired)
            {
                if (_slots.TryGetValue(want.Key, out var slot))
                {
                    slot.Weight = want.Weight;
                    if (!Equals(slot.Profile, want.Monitoring))
                    {
                        slot.Profile = want.Monitoring;
                        reprofiled.Add(slot);
                    }
                }
                else
                {
                    _slots[want.Key] = new Slot(want, _timeProvider.GetUtcNow());
                }
            }

            var now = _timeProvider.GetUtcNow();
            due = [.. desired.Select(w => _slots[w.Key]).Where(s => s.Model is null && s.NextAttempt <= now)];
        }

        RouteAll();
        foreach (var slot in removed)
        {
            Unload(slot);
        }

        foreach (var slot in reprofiled)
        {
            StartMonitor(slot);
        }

        DeleteUnwantedArtifacts(desired);
        foreach (var slot in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await LoadAsync(slot, cancellationToken);
            RouteAll();
        }
    }

    /// <summary>How long until the next failed version may be tried again; null when none waits.</summary>
    internal TimeSpan? NextRetryIn()
    {
        lock (_gate)
        {
            var next = _slots.Values.Where(s => s.Model is null && s.State == "failed").Select(s => (DateTimeOffset?)s.NextAttempt).Min();
            return next is { } at ? Max(at - _timeProvider.GetUtcNow(), TimeSpan.Zero) : null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the pass, so a change during the pass starts another.
            var changed = _changed.WaitAsync(stoppingToken);
            try
            {
                await ReconcileAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                _metrics?.DeploymentLoadFailures.Inc();
                LogPassFailed(ex.Message);
            }

            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var retry = NextRetryIn() is { } delay ? Task.Delay(delay, _timeProvider, wake.Token) : Task.Delay(Timeout.Infinite, wake.Token);
            await Task.WhenAny(changed, retry);
            await wake.CancelAsync();
        }
    }

    public override void Dispose()
    {
        List<Slot> slots;
        lock (_gate)
        {
            slots = [.. _slots.Values];
            _slots.Clear();
            _desired = null;
        }

        RouteAll();
        foreach (var slot in slots)
        {
            Unload(slot);
        }

        base.Dispose();
    }

    private async Task LoadAsync(Slot slot, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            (slot.State, slot.Error, slot.Since) = ("loading", "", _timeProvider.GetUtcNow());
        }

        InferenceSession? session = null;
        try
        {
            var sha256 = Check(slot.Wanted);
            var threads = slot.Wanted.Threads == 0 ? 1 : slot.Wanted.Threads;
            CreatePrivateDirectory(_cacheDirectory);
            var path = Path.Combine(_cacheDirectory, sha256 + ".onnx");
            var clock = Stopwatch.StartNew();
            await _artifacts.DownloadAsync(sha256, path, cancellationToken);
            using (var options = InferenceProviders.Options(_provider, threads))
            {
                session = new InferenceSession(path, options);
            }

            var model = new ServedModel(slot.Key.Model, slot.Key.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), session) { IntraOpThreads = threads };
            var account = AccountId(slot.Key);
            var tracking = _ledger?.Start(account).TrackCounter(() => model.CpuMicroseconds);
            lock (_gate)
            {
                (slot.Model, slot.Tracking, slot.State, slot.Error, slot.Since, slot.Failures) = (model, tracking, "serving", "", _timeProvider.GetUtcNow(), 0);
            }

            StartMonitor(slot);

            LogLoaded(slot.Key.Deployment, slot.Key.Model, slot.Key.Version, clock.ElapsedMilliseconds);
        }
        catch (Exception ex) when (ex is RpcException or IOException or InvalidDataException or UnauthorizedAccessException or OnnxRuntimeException
            or HttpRequestException or InvalidOperationException or FormatException && !cancellationToken.IsCancellationRequested)
        {
            session?.Dispose();
            var reason = ex is RpcException rpc ? $"the artifact could not be fetched ({rpc.StatusCode}: {rpc.Status.Detail})" : ex.Message;
            lock (_gate)
            {
                slot.Failures++;
                var wait = Min(FirstRetry * Math.Pow(2, Math.Min(slot.Failures - 1, 16)), MaxRetry);
                (slot.State, slot.Error, slot.Since, slot.NextAttempt) = ("failed", reason, _timeProvider.GetUtcNow(), _timeProvider.GetUtcNow() + wait);
            }

            _metrics?.DeploymentLoadFailures.Inc();
            LogLoadFailed(slot.Key.Deployment, slot.Key.Model, slot.Key.Version, reason);
        }
    }

    /// <summary>The artifact's SHA-256 in lower case, once the rest of the desired version is sound too.</summary>
    private static string Check(Wanted wanted)
    {
        var sha256 = wanted.Sha256.ToLowerInvariant();
        return wanted switch
        {
            { Key.Deployment: "" or "." or ".." } => throw new InvalidDataException("The deployment's name must be one non-empty path segment."),
            _ when wanted.Key.Deployment.Contains('/', StringComparison.Ordinal) =>
                throw new InvalidDataException("The deployment's name must be one non-empty path segment."),
            { Key.Model.Length: 0 } or { Key.Version: <= 0 } => throw new InvalidDataException("The version needs a model name and a positive version number."),
            { Threads: < 0 or > MaxThreads } => throw new InvalidDataException($"threads must be 0 to {MaxThreads}."),
            { Weight: < 0 or > 100 } => throw new InvalidDataException("A version's weight must be 0 to 100."),
            _ when !Sha256Pattern().IsMatch(sha256) => throw new InvalidDataException("sha256 must be 64 hexadecimal digits."),
            _ => sha256,
        };
    }

    /// <summary>Routes every deployment to its loaded versions, in the order and with the weights desired.</summary>
    private void RouteAll()
    {
        Dictionary<string, List<WeightedModel>> routes;
        lock (_gate)
        {
            routes = _slots.Values.GroupBy(s => s.Key.Deployment, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Where(s => s.Model is not null).Select(s => new WeightedModel(s.Model!, s.Weight)).ToList(), StringComparer.Ordinal);
        }

        foreach (var deployment in _models.Deployments.Except(routes.Keys, StringComparer.Ordinal))
        {
            _models.Route(deployment, []);
        }

        foreach (var (deployment, versions) in routes)
        {
            _models.Route(deployment, versions);
        }
    }

    /// <summary>Waits for the version's running requests (it is no longer routed to) and frees its session.</summary>
    private void Unload(Slot slot)
    {
        if (slot.Model is not { } model)
        {
            return;
        }

        model.Close();

        // After Close no request is running, so the monitor has all of them, and the ledger still has the version's energy.
        _monitors?.Stop(Interlocked.Exchange(ref slot.Monitor, null));
        model.Session.Dispose();
        slot.Tracking?.Dispose();
        _ledger?.Stop(AccountId(slot.Key));
        LogUnloaded(slot.Key.Deployment, slot.Key.Model, slot.Key.Version);
    }

    /// <summary>Gives a loaded version a monitor for its current profile (none without one), closing the one it had.</summary>
    private void StartMonitor(Slot slot)
    {
        MonitoringProfile? profile;
        ServedModel? model;
        lock (_gate)
        {
            (profile, model) = (slot.Profile, slot.Model);
        }

        if (_monitors is null || model is null)
        {
            return;
        }

        var account = AccountId(slot.Key);
        var monitor = _monitors.Start(new MonitoredVersion(slot.Key.Deployment, slot.Key.Model, slot.Key.Version), profile, model.Session,
            _ledger is { } ledger ? () => ledger.Read(account).EnergyJoules : null);
        model.TrafficMonitor = monitor;
        _monitors.Stop(Interlocked.Exchange(ref slot.Monitor, monitor));
    }

    /// <summary>Keeps the cache to the artifacts still desired, so the disk holds what could be served, not every model ever deployed.</summary>
    private void DeleteUnwantedArtifacts(IReadOnlyList<Wanted> desired)
    {
        if (!Directory.Exists(_cacheDirectory))
        {
            return;
        }

        var kept = desired.Select(w => w.Sha256.ToLowerInvariant() + ".onnx").ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_cacheDirectory, "*.onnx"))
        {
            if (!kept.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string AccountId(VersionKey key) => $"deployment/{key.Deployment}/{key.Model}/{key.Version}";

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Deployment} serves {Model} version {Version} (loaded in {Milliseconds} ms)")]
    private partial void LogLoaded(string deployment, string model, int version, long milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Deployment} no longer serves {Model} version {Version}")]
    private partial void LogUnloaded(string deployment, string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment} could not load {Model} version {Version}: {Reason}; it is tried again later")]
    private partial void LogLoadFailed(string deployment, string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A deployment pass failed: {Reason}")]
    private partial void LogPassFailed(string reason);

    private readonly record struct VersionKey(string Deployment, string Model, int Version);

    private sealed record Wanted(VersionKey Key, string Sha256, int Threads, int Weight, MonitoringProfile? Monitoring);

    /// <summary>One desired version and where it stands; its fields change under the reconciler's lock.</summary>
    private sealed class Slot(Wanted wanted, DateTimeOffset since)
    {
        public Wanted Wanted { get; } = wanted;

        public VersionKey Key => Wanted.Key;

        public int Weight { get; set; } = wanted.Weight;

        public MonitoringProfile? Profile { get; set; } = wanted.Monitoring;

        /// <summary>The version's monitor while it is loaded with a profile; swapped atomically, so that each monitor is stopped once.</summary>
        public InferenceMonitor? Monitor;

        public string State { get; set; } = "loading";

        public string Error { get; set; } = "";

        public DateTimeOffset Since { get; set; } = since;

        public int Failures { get; set; }

        public DateTimeOffset NextAttempt { get; set; } = DateTimeOffset.MinValue;

        public ServedModel? Model { get; set; }

        public IDisposable? Tracking { get; set; }

        /// <summary>Whether this slot is still the version desired: another artifact or thread count is a new version to load.</summary>
        public bool Wants(Wanted other) => other.Sha256 == Wanted.Sha256 && other.Threads == Wanted.Threads;

        public ServedDeployment Describe(JobEnergyLedger? ledger) => new()
        {
            Deployment = Key.Deployment,
            Model = Key.Model,
            Version = Key.Version,
            State = State,
            Error = Error,
            Since = Timestamp.FromDateTimeOffset(Since),
            Requests = (ulong)(Model?.Requests ?? 0),
            FailedRequests = (ulong)(Model?.FailedRequests ?? 0),
            Inferences = (ulong)(Model?.Inferences ?? 0),
            P99LatencyMs = Model?.P99LatencyMilliseconds ?? 0,
            EnergyJoules = Model is null ? 0 : ledger?.Read(AccountId(Key)).EnergyJoules ?? 0,
        };
    }
}
