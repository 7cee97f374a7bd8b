using System.Globalization;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>A deployed version that is monitored: the deployment, and the registered model and version it serves.</summary>
public sealed record MonitoredVersion(string Deployment, string Model, int Version);

/// <summary>
/// Summarises one served version's answered requests, window by window, as its
/// <see cref="MonitoringProfile"/> asks: every element of an input tensor named like a profiled
/// feature counts (a batch counts each row); an output counts per row by <see cref="Column"/>; a
/// bounded reservoir keeps a uniform sample of the requests offered to it; the prediction log keeps
/// (request id, time, first-row value of the profile's first output) up to a cap per window.
/// <para>Windows are aligned to the clock: they start at whole multiples of the profile's window since
/// the Unix epoch, so every agent's windows line up. A monitor's first window starts when it does and
/// its last ends when it is closed (a version unloaded mid-window keeps what it counted); both are
/// reported with the span they cover. A window with no request, answered or failed, reports nothing.</para>
/// <para>Thread-safe: requests add under one lock held only while counting; a sampled request's
/// values are copied outside it, and nothing here does I/O — finished windows wait in memory until
/// <see cref="Collect"/> takes them.</para>
/// </summary>
internal sealed partial class InferenceMonitor
{
    /// <summary>Values of one feature kept for a sampled request (its first rows), so that one large tensor cannot swell a summary.</summary>
    public const int MaxSampledValues = 1_024;

    /// <summary>Longer request ids are not logged with their prediction: an id is a join key, not a payload.</summary>
    public const int MaxRequestIdLength = 256;

    private readonly Lock _gate = new();
    private readonly MonitoredVersion _version;
    private readonly MonitoringProfile _profile;
    private readonly TimeSpan _windowLength;
    private readonly int _maxPredictions;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Func<double>? _energyJoules;
    private readonly AgentMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly Dictionary<string, FeatureHistogram> _inputBins;
    private readonly Dictionary<string, FeatureHistogram> _outputBins;
    private readonly string? _predictedOutput;
    private readonly List<Window> _finished = [];
    private Window _current;
    private bool _closed;

    /// <param name="version">The version whose traffic is counted.</param>
    /// <param name="profile">A profile <see cref="ProfileRules"/> accepts.</param>
    /// <param name="maxPredictions">Most predictions logged per window; beyond it they are counted as dropped.</param>
    /// <param name="time">The clock windows are aligned to.</param>
    /// <param name="random">Draws for the sample, used under the monitor's lock.</param>
    /// <param name="energyJoules">The serving energy attributed to the version so far, whose change over a window is the window's energy.</param>
    /// <param name="metrics">Where dropped predictions are counted.</param>
    /// <param name="logger">Where a window's full prediction log is told.</param>
    public InferenceMonitor(MonitoredVersion version, MonitoringProfile profile, int maxPredictions, TimeProvider time, Random random,
        Func<double>? energyJoules, AgentMetrics? metrics, ILogger logger)
    {
        _version = version;
        _profile = profile;
        _windowLength = profile.Window.ToTimeSpan();
        _maxPredictions = maxPredictions;
        _time = time;
        _random = random;
        _energyJoules = energyJoules;
        _metrics = metrics;
        _logger = logger;
        _inputBins = profile.Inputs.ToDictionary(b => b.Name, b => new FeatureHistogram(b), StringComparer.Ordinal);
        _outputBins = profile.Outputs.ToDictionary(b => b.Name, b => new FeatureHistogram(b), StringComparer.Ordinal);
        OutputNames = [.. profile.Outputs.Select(b => b.Name)];
        _predictedOutput = profile.LogPredictions && profile.Outputs.Count > 0 ? profile.Outputs[0].Name : null;
        var now = time.GetUtcNow();
        _current = NewWindow(now, AlignedStart(now) + _windowLength);
    }

    public MonitoredVersion Version => _version;

    /// <summary>
    /// The profile's outputs that the model has as tensors, which an inference computes even when
    /// the request asks for others: what a version's traffic looks like must not depend on what
    /// its clients happen to ask for.
    /// </summary>
    public IReadOnlyList<string> OutputNames { get; init; }

    /// <summary>
    /// The elements of an output that count, per row: the last column of a two-dimensional output
    /// with more than one column (a binary classifier's [N, 2] probabilities give the positive class's,
    /// a multi-class one's the last class's), else every element.
    /// </summary>
    public static (int Offset, int Stride) Column(IReadOnlyList<long> shape) =>
        shape.Count == 2 && shape[1] > 1 ? ((int)shape[1] - 1, (int)shape[1]) : (0, 1);

    /// <summary>Counts an answered request: its rows, its profiled inputs and outputs, its sample and prediction.</summary>
    public void Record(string? requestId, long rows, IReadOnlyList<(string Name, Array Values)> inputs, IReadOnlyList<OutputTensor> outputs)
    {
        var now = _time.GetUtcNow();
        Window window;
        long ticket;
        int slot;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            window = Current(now);
            window.Requests++;
            window.Inferences += rows;
            foreach (var (name, values) in inputs)
            {
                window.Inputs.GetValueOrDefault(name)?.Add(values, 0, 1);
            }

            foreach (var output in outputs)
            {
                if (window.Outputs.TryGetValue(output.Name, out var histogram))
                {
                    var (offset, stride) = Column(output.Shape);
                    histogram.Add(output.Values, offset, stride);
                }
            }

            if (_predictedOutput is not null && !string.IsNullOrEmpty(requestId))
            {
                LogPrediction(window, requestId, now, outputs);
            }

            (ticket, slot) = Offer(window);
        }

        if (slot >= 0)
        {
            var sample = Sample(requestId, now, inputs, outputs);
            lock (_gate)
            {
                // A request that drew the same slot later wins it, as in Algorithm R run in order.
                if (!window.Taken && window.Tickets[slot] < ticket)
                {
                    (window.Samples[slot], window.Tickets[slot]) = (sample, ticket);
                }
            }
        }
    }

    /// <summary>Counts a request refused as bad input or failed to infer.</summary>
    public void RecordFailure()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!_closed)
            {
                Current(now).FailedRequests++;
            }
        }
    }

    /// <summary>The windows that ended by <paramref name="now"/> with traffic, as summaries; each is returned once.</summary>
    public IReadOnlyList<InferenceSummary> Collect(DateTimeOffset now)
    {
        List<Window> taken;
        lock (_gate)
        {
            if (!_closed)
            {
                Current(now);
            }

            taken = Take();
        }

        return [.. taken.Select(Summary)];
    }

    /// <summary>Stops counting and returns what is left, the current window up to now included.</summary>
    public IReadOnlyList<InferenceSummary> Close()
    {
        var now = _time.GetUtcNow();
        List<Window> taken;
        lock (_gate)
        {
            if (!_closed)
            {
                _closed = true;
                Finish(_current, now < _current.End ? now : _current.End);
            }

            taken = Take();
        }

        return [.. taken.Select(Summary)];
    }

    /// <summary>The window <paramref name="now"/> falls in: the current one until its end, then a new aligned one.</summary>
    private Window Current(DateTimeOffset now)
    {
        if (now >= _current.End)
        {
            Finish(_current, _current.End);
            var start = AlignedStart(now);
            _current = NewWindow(start, start + _windowLength);
        }

        return _current;
    }

    private void Finish(Window window, DateTimeOffset end)
    {
        window.EndedAt = end;
        window.EnergyAtEnd = _energyJoules?.Invoke() ?? 0;
        if (window.Requests + window.FailedRequests > 0)
        {
            _finished.Add(window);
        }
    }

    private List<Window> Take()
    {
        var taken = new List<Window>(_finished);
        foreach (var window in taken)
        {
            window.Taken = true;
        }

        _finished.Clear();
        return taken;
    }

    private Window NewWindow(DateTimeOffset start, DateTimeOffset end) => new(
        start,
        end,
        _energyJoules?.Invoke() ?? 0,
        _inputBins.ToDictionary(p => p.Key, p => p.Value.Empty(), StringComparer.Ordinal),
        _outputBins.ToDictionary(p => p.Key, p => p.Value.Empty(), StringComparer.Ordinal),
        _profile.SampleSize);

    private DateTimeOffset AlignedStart(DateTimeOffset now)
    {
        var sinceEpoch = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var length = _windowLength.Ticks;
        return new DateTimeOffset(now.UtcTicks - (((sinceEpoch % length) + length) % length), TimeSpan.Zero);
    }

    /// <summary>Algorithm R over the requests offered (each with probability sample_rate): the ticket is the request's place among them, the slot it takes or -1.</summary>
    private (long Ticket, int Slot) Offer(Window window)
    {
        var size = window.Samples.Length;
        if (size == 0 || _profile.SampleRate <= 0 || (_profile.SampleRate < 1 && _random.NextDouble() >= _profile.SampleRate))
        {
            return (-1, -1);
        }

        var ticket = window.Offered++;
        var slot = ticket < size ? ticket : _random.NextInt64(ticket + 1);
        return (ticket, slot < size ? (int)slot : -1);
    }

    private void LogPrediction(Window window, string requestId, DateTimeOffset now, IReadOnlyList<OutputTensor> outputs)
    {
        if (requestId.Length > MaxRequestIdLength)
        {
            _metrics?.MonitoredPredictionsDropped.WithLabels("id_too_long").Inc();
            return;
        }

        var output = FindOutput(outputs, _predictedOutput!);
        var (offset, _) = output is null ? (0, 0) : Column(output.Shape);
        if (output is null || output.Values.Length <= offset)
        {
            return;
        }

        if (window.Predictions.Count >= _maxPredictions)
        {
            _metrics?.MonitoredPredictionsDropped.WithLabels("window_full").Inc();
            if (window.PredictionsDropped++ == 0)
            {
                LogPredictionsDropped(_version.Deployment, _version.Version, _maxPredictions);
            }

            return;
        }

        window.Predictions.Add(new LoggedPrediction
        {
            RequestId = requestId,
            Time = Timestamp.FromDateTimeOffset(now),
            Value = _outputBins[output.Name].Sampled(output.Values, offset),
        });
    }

    private SampledRequest Sample(string? requestId, DateTimeOffset now, IReadOnlyList<(string Name, Array Values)> inputs, IReadOnlyList<OutputTensor> outputs)
    {
        var sample = new SampledRequest { RequestId = requestId ?? "", Time = Timestamp.FromDateTimeOffset(now) };
        foreach (var (name, values) in inputs)
        {
            if (_inputBins.TryGetValue(name, out var bins))
            {
                sample.Inputs.Add(Values(name, bins, values, 0, 1));
            }
        }

        foreach (var output in outputs)
        {
            if (_outputBins.TryGetValue(output.Name, out var bins))
            {
                var (offset, stride) = Column(output.Shape);
                sample.Outputs.Add(Values(output.Name, bins, output.Values, offset, stride));
            }
        }

        return sample;
    }

    private static SampledValue Values(string name, FeatureHistogram bins, Array values, int offset, int stride)
    {
        var sampled = new SampledValue { Name = name };
        for (var i = offset; i < values.Length && sampled.Values.Count < MaxSampledValues; i += stride)
        {
            sampled.Values.Add(bins.Sampled(values, i));
        }

        return sampled;
    }

    private static OutputTensor? FindOutput(IReadOnlyList<OutputTensor> outputs, string name)
    {
        foreach (var output in outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        return null;
    }

    /// <summary>A finished window as the contract carries it; its span is what it covered (a first or last window may be shorter).</summary>
    private InferenceSummary Summary(Window window)
    {
        var start = window.Start;
        var summary = new InferenceSummary
        {
            Id = SummaryId(_version, start),
            Deployment = _version.Deployment,
            Model = _version.Model,
            Version = _version.Version,
            WindowStart = Timestamp.FromDateTimeOffset(start),
            Window = Duration.FromTimeSpan(window.EndedAt - start),
            Requests = (ulong)window.Requests,
            FailedRequests = (ulong)window.FailedRequests,
            Inferences = (ulong)window.Inferences,
            EnergyJoules = Math.Max(0, window.EnergyAtEnd - window.EnergyAtStart),
            SampleOffered = (ulong)window.Offered,
        };
        summary.Inputs.Add(_profile.Inputs.Select(b => window.Inputs[b.Name].ToSummary()));
        summary.Outputs.Add(_profile.Outputs.Select(b => window.Outputs[b.Name].ToSummary()));
        summary.Samples.Add(window.Samples.OfType<SampledRequest>());
        summary.Predictions.Add(window.Predictions);
        return summary;
    }

    /// <summary>
    /// <c>{deployment}/{version}/{window start in Unix seconds}</c>, the start with a fraction when it
    /// is not on a whole second (a version loaded or unloaded mid-window), so that the part before an
    /// unload and the part after a reload are two summaries, not one counted twice.
    /// </summary>
    internal static string SummaryId(MonitoredVersion version, DateTimeOffset start)
    {
        var seconds = (start - DateTimeOffset.UnixEpoch).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture, $"{version.Deployment}/{version.Version}/{seconds:0.#######}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment} version {Version} logged {MaxPredictions} predictions in this window; later ones are counted in edgegreen_agent_monitored_predictions_dropped_total, not logged")]
    private partial void LogPredictionsDropped(string deployment, int version, int maxPredictions);

    /// <summary>One window's counts; its fields change under the monitor's lock.</summary>
    private sealed class Window(DateTimeOffset start, DateTimeOffset end, double energyAtStart,
        Dictionary<string, FeatureHistogram> inputs, Dictionary<string, FeatureHistogram> outputs, int sampleSize)
    {
        public DateTimeOffset Start { get; } = start;

        public DateTimeOffset End { get; } = end;

        public double EnergyAtStart { get; } = energyAtStart;

        public Dictionary<string, FeatureHistogram> Inputs { get; } = inputs;

        public Dictionary<string, FeatureHistogram> Outputs { get; } = outputs;

        public SampledRequest?[] Samples { get; } = new SampledRequest?[sampleSize];

        public long[] Tickets { get; } = Enumerable.Repeat(-1L, sampleSize).ToArray();

        public List<LoggedPrediction> Predictions { get; } = [];

        public long Requests { get; set; }

        public long FailedRequests { get; set; }

        public long Inferences { get; set; }

        public long Offered { get; set; }

        public long PredictionsDropped { get; set; }

        public DateTimeOffset EndedAt { get; set; }

        public double EnergyAtEnd { get; set; }

        /// <summary>Set once the window is being summarised: a late sample is then left out.</summary>
        public bool Taken { get; set; }
    }
}
