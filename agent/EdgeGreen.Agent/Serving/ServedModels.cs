using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The models this agent serves now: one per running <c>serve</c> job, found by registry name and
/// version, and the versions of each deployment, found by the deployment's name. A job adds its
/// model when its session is loaded and removes it when it ends, so a request never reaches a model
/// that is not loaded. A deployment named like a model that a job serves hides that model: the
/// deployment is what the fleet asked this agent to keep, a job is one run of work.
/// </summary>
public sealed class ServedModels(AgentMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<(string Name, string Version), ServedModel> _models = new();
    private readonly ConcurrentDictionary<string, DeploymentRoute> _deployments = new(StringComparer.Ordinal);

    /// <summary>Serves <paramref name="model"/> until the returned handle is disposed.</summary>
    public IDisposable Add(ServedModel model)
    {
        model.Metrics = metrics;
        if (!_models.TryAdd((model.Name, model.Version), model))
        {
            throw new InvalidOperationException($"{model.Name} version {model.Version} is already served by another job on this agent.");
        }

        return new Removal(() => _models.TryRemove(new KeyValuePair<(string, string), ServedModel>((model.Name, model.Version), model)));
    }

    /// <summary>
    /// Sends the deployment's requests to <paramref name="versions"/> (loaded models with their
    /// weights) from now on; none stops serving the deployment by name. Requests already running on
    /// a version keep it until they finish.
    /// </summary>
    public void Route(string deployment, IReadOnlyList<WeightedModel> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0)
        {
            _deployments.TryRemove(deployment, out _);
            return;
        }

        foreach (var version in versions)
        {
            version.Model.Metrics = metrics;
        }

        _deployments[deployment] = new DeploymentRoute([.. versions]);
    }

    /// <summary>The deployments served by name now.</summary>
    public IReadOnlyCollection<string> Deployments => [.. _deployments.Keys];

    /// <summary>
    /// A deployment's version (by its version number, or chosen by <paramref name="requestKey"/>
    /// when none is given: see <see cref="DeploymentRoute.Choose"/>); else the served version of a
    /// model, or its highest served version when none is given. The key is asked for only when a
    /// deployment splits its traffic.
    /// </summary>
    public ServedModel? Find(string name, string? version, Func<string?> requestKey)
    {
        ArgumentNullException.ThrowIfNull(requestKey);
        if (_deployments.TryGetValue(name, out var route))
        {
            return version is not null
                ? route.Versions.FirstOrDefault(v => v.Model.Version == version)?.Model
                : route.Choose(route.Versions.Count > 1 ? requestKey() : null);
        }

        return Find(name, version);
    }

    /// <summary>The served version, or the highest served version of the name when none is given (models of serve jobs only).</summary>
    public ServedModel? Find(string name, string? version) => version is not null
        ? _models.GetValueOrDefault((name, version))
        : _models.Values.Where(m => m.Name == name).MaxBy(m => int.TryParse(m.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1);

    private sealed class Removal(Action remove) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                remove();
            }
        }
    }
}

/// <summary>
/// A loaded model and what it has served: requests (answered), failed requests (refused as bad
/// input or failed to infer; not in <see cref="Requests"/>), inferences (rows of the first input of
/// answered requests), time, the latency of the latest answered requests and the CPU time inference used.
/// </summary>
public sealed class ServedModel(string name, string version, InferenceSession session)
{
    private readonly LatencyWindow _latency = new();
    private long _cpuMicroseconds;
    private readonly object _gate = new();
    private int _inFlight;
    private bool _closing;
    private long _requests;
    private long _inferences;
    private long _failedRequests;
    private long _ticks;
    private Monitoring.InferenceMonitor? _monitor;

    public string Name => name;

    public string Version => version;

    public InferenceSession Session => session;

    public long Requests => Interlocked.Read(ref _requests);

    public long Inferences => Interlocked.Read(ref _inferences);

    public long FailedRequests => Interlocked.Read(ref _failedRequests);

    /// <summary>ONNX Runtime intra-op threads of the session (1: inference runs on the request's own thread).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>99th percentile of the latest answered requests' durations (<see cref="LatencyWindow"/>), in milliseconds.</summary>
    public double P99LatencyMilliseconds => _latency.Percentile(99);

    /// <summary>
    /// CPU time requests to this model used, in microseconds: the thread that ran each request,
    /// plus, with more than one intra-op thread, the rest of the process's CPU time during the request
    /// bounded by its duration × (threads − 1) (ONNX Runtime's pool threads work on it too).
    /// </summary>
    public long CpuMicroseconds => Interlocked.Read(ref _cpuMicroseconds);

    /// <summary>Mean time per answered request, in milliseconds (0 before the first).</summary>
    public double MeanLatencyMilliseconds => Requests == 0 ? 0 : TimeSpan.FromTicks(Interlocked.Read(ref _ticks)).TotalMilliseconds / Requests;

    /// <summary>Starts a request on the session; false once the model is closing (answer as not served).</summary>
    internal bool TryEnter()
    {
        lock (_gate)
        {
            if (_closing)
            {
                return false;
            }

            _inFlight++;
            return true;
        }
    }

    internal void Exit()
    {
        lock (_gate)
        {
            if (--_inFlight == 0 && _closing)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Refuses new requests and waits for those running, so the session can be disposed.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closing = true;
            while (_inFlight > 0)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>
    /// The monitor that summarises this model's traffic, when its deployment has a monitoring
    /// profile; replaced when the profile changes (a request that read the old one just before is
    /// not counted by the new one).
    /// </summary>
    internal Monitoring.InferenceMonitor? TrafficMonitor
    {
        get => Volatile.Read(ref _monitor);
        set => Volatile.Write(ref _monitor, value);
    }

    /// <summary>The agent's series this model counts into, once it is served.</summary>
    internal AgentMetrics? Metrics { get; set; }

    internal void Answered(long inferences, long startedTimestamp)
    {
        Metrics?.InferenceRequests.WithLabels(name, "answered").Inc();
        Metrics?.Inferences.WithLabels(name).Inc(inferences);
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _inferences, inferences);
        var elapsed = Stopwatch.GetElapsedTime(startedTimestamp);
        Interlocked.Add(ref _ticks, elapsed.Ticks);
        _latency.Add(elapsed);
    }

    /// <summary>Counts the CPU time of one request, answered or failed, from its start readings of <see cref="CpuClock"/>.</summary>
    internal void UsedCpu(long threadStartMicroseconds, long processStartMicroseconds, long startedTimestamp)
    {
        var used = Math.Max(0, CpuClock.ThreadMicroseconds() - threadStartMicroseconds);
        if (IntraOpThreads > 1)
        {
            var others = CpuClock.ProcessMicroseconds() - processStartMicroseconds - used;
            var bound = (long)Stopwatch.GetElapsedTime(startedTimestamp).TotalMicroseconds * (IntraOpThreads - 1);
            used += Math.Clamp(others, 0, bound);
        }

        Interlocked.Add(ref _cpuMicroseconds, used);
    }

    /// <summary>Reads a request for this model; one refused as malformed counts as a failed request.</summary>
    internal T Reading<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InferenceException)
        {
            Failed();
            throw;
        }
    }

    internal void Failed()
    {
        Metrics?.InferenceRequests.WithLabels(name, "failed").Inc();
        Interlocked.Increment(ref _failedRequests);
        TrafficMonitor?.RecordFailure();
    }
}
