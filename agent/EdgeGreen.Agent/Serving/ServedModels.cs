using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The models this agent serves now, one per running <c>serve</c> job, found by registry name and
/// version. A job adds its model when its session is loaded and removes it when it ends, so a
/// request never reaches a model that is not loaded.
/// </summary>
public sealed class ServedModels(AgentMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<(string Name, string Version), ServedModel> _models = new();

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

    /// <summary>The served version, or the highest served version of the name when none is given.</summary>
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

/// <summary>A loaded model and what it has served: requests, inferences (rows of the first input), failures, time.</summary>
public sealed class ServedModel(string name, string version, InferenceSession session)
{
    private readonly object _gate = new();
    private int _inFlight;
    private bool _closing;
    private long _requests;
    private long _inferences;
    private long _failedRequests;
    private long _ticks;

    public string Name => name;

    public string Version => version;

    public InferenceSession Session => session;

    public long Requests => Interlocked.Read(ref _requests);

    public long Inferences => Interlocked.Read(ref _inferences);

    public long FailedRequests => Interlocked.Read(ref _failedRequests);

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

    /// <summary>The agent's series this model counts into, once it is served.</summary>
    internal AgentMetrics? Metrics { get; set; }

    internal void Answered(long inferences, long startedTimestamp)
    {
        Metrics?.InferenceRequests.WithLabels(name, "answered").Inc();
        Metrics?.Inferences.WithLabels(name).Inc(inferences);
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _inferences, inferences);
        Interlocked.Add(ref _ticks, Stopwatch.GetElapsedTime(startedTimestamp).Ticks);
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
    }
}
