using System.Diagnostics;
using System.Globalization;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.ControlPlane.Hosting;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Fleet scale: N simulated agents, each on its own telemetry stream, send one batch a second of
/// three domains (1 Hz × 3, as a real agent samples) and wait for its acknowledgement, for a set
/// time after a warm-up (every agent's first batch acknowledged, then 30 s). Reported per fleet size: readings stored per second, acknowledgement
/// latency (p50, p99, max: write of the batch to its durable ack), batches that failed, and the
/// process's memory (GC heap after a full collection, and working set) at the start and the end of
/// the measured window. A size holds when p99 &lt; 1 s, nothing failed and memory ends within ±10 %
/// of where it started; sizes are tried in order and the run stops at the first that does not hold.
/// The simulators run in the same process on the same two cores, so the figures are a floor.
/// </summary>
internal static class FleetBenchmark
{
    private static readonly (string Domain, double Joules)[] Domains = [("cpu.package", 12.5), ("dram", 2.5), ("gpu0", 40)];

    public static async Task RunAsync(StorageTargets storage, int[] fleetSizes, TimeSpan duration, TimeSpan warmUp)
    {
        Console.WriteLine($"Fleet scale on {storage.Name}: 1 Hz × {Domains.Length} domains per agent, a {warmUp.TotalSeconds:N0} s warm-up once every agent streams, {duration.TotalMinutes:N1} min measured");
        Console.WriteLine();
        Console.WriteLine("| store | agents | readings/s stored | ack p50 | ack p99 | ack max | failed batches | GC heap start → end | working set start → end | holds |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var size in fleetSizes)
        {
            var result = await MeasureAsync(await storage.FreshAsync(), size, duration, warmUp);
            var holds = result.P99 < 1000 && result.Failed == 0 && Math.Abs((result.HeapEnd / result.HeapStart) - 1) <= 0.10;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {storage.Name} | {size:N0} | {result.ReadingsPerSecond:N0} | {result.P50:N0} ms | {result.P99:N0} ms | {result.Max:N0} ms | {result.Failed:N0} | {result.HeapStart:N0} → {result.HeapEnd:N0} MB | {result.WorkingSetStart:N0} → {result.WorkingSetEnd:N0} MB | {(holds ? "yes" : "no: " + result.Why(holds))} |"));
            if (!holds)
            {
                break;
            }
        }
    }

    private static async Task<Result> MeasureAsync(StorageTarget storage, int agentCount, TimeSpan duration, TimeSpan warmUp)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-fleet-").FullName;
        try
        {
            await using var app = await BenchmarkHost.StartAsync(directory, storage);
            var grpc = app.Services.GetRequiredService<KestrelEndpoints>().Grpc;
            var tokens = app.Services.GetRequiredService<EnrollmentTokens>();
            using var channel = GrpcChannel.ForAddress(grpc, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
            var registration = new AgentService.AgentServiceClient(channel);
            var credentials = new List<string>();
            Console.Error.WriteLine($"{agentCount} agents: enrolling");
            foreach (var chunk in Enumerable.Range(0, agentCount).Chunk(200))
            {
                credentials.AddRange(await Task.WhenAll(chunk.Select(async i => (await registration.RegisterAsync(new RegisterRequest
                {
                    EnrollmentToken = (await tokens.MintAsync(CancellationToken.None)).Token,
                    Name = $"sim-{i}",
                    Zone = (i % 4) switch { 0 => "ES", 1 => "NO", 2 => "BR", _ => "US-CAL-CISO" },
                })).Credential)));
            }

            var telemetry = new TelemetryService.TelemetryServiceClient(channel);
            var latencies = new LatencyHistogram();
            var failed = 0L;
            var stored = 0L;
            var measuring = false;
            using var stop = new CancellationTokenSource();
            Console.Error.WriteLine($"{agentCount} agents: streaming");
            var acknowledgedAgents = 0L;
            var agents = credentials.Select((credential, i) => Task.Run(() => SimulateAsync(telemetry, credential, i, agentCount, () => measuring, latencies,
                () => Interlocked.Increment(ref failed), n => Interlocked.Add(ref stored, n), () => Interlocked.Increment(ref acknowledgedAgents), stop.Token))).ToList();

            // Warm-up: every agent streaming (its first batch acknowledged), then the set time, so that
            // the measured window starts from a steady fleet rather than from thousands connecting at once.
            var connecting = Stopwatch.StartNew();
            while (Interlocked.Read(ref acknowledgedAgents) < agentCount)
            {
                if (connecting.Elapsed > TimeSpan.FromMinutes(5))
                {
                    await stop.CancelAsync();
                    await Task.WhenAll(agents);
                    throw new InvalidOperationException($"Only {Interlocked.Read(ref acknowledgedAgents):N0} of {agentCount:N0} agents had a batch acknowledged within 5 minutes.");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }

            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{agentCount} agents: all streaming after {connecting.Elapsed.TotalSeconds:N0} s"));
            await Task.Delay(warmUp);
            var (heapStart, workingSetStart) = Memory();
            measuring = true;
            var clock = Stopwatch.StartNew();
            await using (var cache = new LiteDbCacheWatch(app.Services))
            {
                await ReportProgressAsync(latencies, clock, duration, cache.Describe);
            }

            measuring = false;
            var elapsed = clock.Elapsed;
            var (heapEnd, workingSetEnd) = Memory();
            await stop.CancelAsync();
            await Task.WhenAll(agents);
            await CloseTheHourAsync(app.Services.GetRequiredService<ITelemetryStore>());

            return new Result(Interlocked.Read(ref stored) / elapsed.TotalSeconds, latencies.Percentile(0.5), latencies.Percentile(0.99),
                latencies.Max, Interlocked.Read(ref failed), heapStart, heapEnd, workingSetStart, workingSetEnd);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// What the leader's hourly pass costs a store that keeps open hours in the minute tier: the
    /// hour the run wrote folded into the hour tier, as if it had ended, once the agents stop.
    /// </summary>
    private static async Task CloseTheHourAsync(ITelemetryStore store)
    {
        var folding = Stopwatch.StartNew();
        var agents = await store.CloseHoursAsync(DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
        if (agents > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    closing the run's hour (its minutes folded into the hour tier) for {agents:N0} agents: {folding.Elapsed.TotalSeconds:N1} s"));
        }
    }

    /// <summary>One agent: its stream, a batch every second (phases spread over the second), each waiting for its ack.</summary>
    private static async Task SimulateAsync(TelemetryService.TelemetryServiceClient client, string credential, int index, int count, Func<bool> measuring,
        LatencyHistogram latencies, Action fail, Action<int> storedReadings, Action firstAcknowledged, CancellationToken stop)
    {
        var acknowledged = false;
        var headers = new Metadata { { "authorization", $"Bearer {credential}" } };
        ulong sequence = 0;
        await Task.Delay(TimeSpan.FromSeconds((double)index / count), CancellationToken.None);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var call = client.Upload(headers, cancellationToken: stop);
                if (!await call.ResponseStream.MoveNext(stop))
                {
                    continue;
                }

                sequence = Math.Max(sequence, call.ResponseStream.Current.DurableSequence);
                while (await timer.WaitForNextTickAsync(stop))
                {
                    var batch = new ReadingBatch();
                    var now = DateTimeOffset.UtcNow;
                    foreach (var (domain, joules) in Domains)
                    {
                        batch.Readings.Add(new Reading
                        {
                            Sequence = ++sequence,
                            Time = Timestamp.FromDateTimeOffset(now),
                            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
                            SensorId = "sim",
                            Domain = domain,
                            EnergyJoules = joules,
                            Provenance = Provenance.Modelled,
                        });
                    }

                    var sent = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(batch, stop);
                    if (!await call.ResponseStream.MoveNext(stop))
                    {
                        throw new InvalidOperationException("The stream ended.");
                    }

                    if (!acknowledged)
                    {
                        acknowledged = true;
                        firstAcknowledged();
                    }

                    if (measuring())
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sent));
                        storedReadings((int)call.ResponseStream.Current.Accepted);
                    }
                }
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or RpcException)
            {
                return;
            }
            catch (RpcException) when (!stop.IsCancellationRequested)
            {
                fail();
            }
            catch (InvalidOperationException) when (!stop.IsCancellationRequested)
            {
                fail();
            }
        }
    }

    /// <summary>
    /// Waits out the measured window, writing a line every 30 s (to standard error, beside the
    /// table): that window's latencies, the garbage collector's pauses and the heap, so that a run
    /// that fails shows when and alongside what.
    /// </summary>
    private static async Task ReportProgressAsync(LatencyHistogram latencies, Stopwatch clock, TimeSpan duration, Func<string> storeCache)
    {
        var every = TimeSpan.FromSeconds(30);
        using var gc = new GcEvents();
        // A last sliver of a window (the timer's rounding) is not worth a line of its own.
        while (clock.Elapsed < duration - TimeSpan.FromSeconds(1))
        {
            var window = latencies.StartWindow();
            var pauses = GC.GetTotalPauseDuration();
            var gen2 = GC.CollectionCount(2);
            await Task.Delay(TimeSpan.FromTicks(Math.Min(every.Ticks, (duration - clock.Elapsed).Ticks)));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {clock.Elapsed.TotalSeconds,4:N0} s: ack p50 {window.Percentile(0.5):N0} ms, p99 {window.Percentile(0.99):N0} ms, max {window.Max:N0} ms; gen2 collections {GC.CollectionCount(2) - gen2}, GC pauses {(GC.GetTotalPauseDuration() - pauses).TotalMilliseconds:N0} ms; heap {GC.GetTotalMemory(false) / 1048576.0:N0} MB, live after the last full collection {LiveAfterLastFullCollection():N0} MB; {storeCache()}{gc.TakeWindow()}"));
        }
    }

    /// <summary>
    /// What survived the most recent gen 2 collection (blocking or background), less the free
    /// space between objects: the heap's floor, free of garbage not yet collected.
    /// </summary>
    private static double LiveAfterLastFullCollection()
    {
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var last = blocking.Index >= background.Index ? blocking : background;
        return last.GenerationInfo.ToArray().Sum(g => g.SizeAfterBytes - g.FragmentationAfterBytes) / 1048576.0;
    }

    private static (double HeapMegabytes, double WorkingSetMegabytes) Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true) / 1048576.0, process.WorkingSet64 / 1048576.0);
    }

    /// <summary>Latencies in whole milliseconds, counted per millisecond up to a minute: fixed memory, however long the run.</summary>
    private sealed class LatencyHistogram
    {
        private readonly long[] _counts = new long[60_001];
        private LatencyHistogram? _window;

        public double Max { get; private set; }

        public void Add(TimeSpan latency)
        {
            var ms = Math.Min(_counts.Length - 1, (int)latency.TotalMilliseconds);
            Interlocked.Increment(ref _counts[ms]);
            if (latency.TotalMilliseconds > Max)
            {
                Max = latency.TotalMilliseconds;
            }

            Volatile.Read(ref _window)?.Add(latency);
        }

        /// <summary>A histogram of the latencies added from now on (as well as to this one).</summary>
        public LatencyHistogram StartWindow()
        {
            var window = new LatencyHistogram();
            Volatile.Write(ref _window, window);
            return window;
        }

        public double Percentile(double p)
        {
            var total = _counts.Sum();
            var rank = (long)Math.Ceiling(p * total);
            long seen = 0;
            for (var ms = 0; ms < _counts.Length; ms++)
            {
                seen += _counts[ms];
                if (seen >= rank && total > 0)
                {
                    return ms + 1;
                }
            }

            return double.NaN;
        }
    }

    private sealed record Result(double ReadingsPerSecond, double P50, double P99, double Max, long Failed, double HeapStart, double HeapEnd, double WorkingSetStart, double WorkingSetEnd)
    {
        public string Why(bool holds) => holds ? ""
            : P99 >= 1000 ? "ack p99 ≥ 1 s"
            : Failed > 0 ? "batches failed"
            : "memory moved more than 10 %";
    }
}
