using System.Globalization;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Sensors.Nvml;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests.Jobs;

/// <summary>Attribution driven over a fixture procfs: job threads, process trees and cgroups whose CPU times the tests set.</summary>
public sealed class JobEnergyLedgerTests : IDisposable
{
    private readonly SysfsTree _proc = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private long _nodeBusyTicks;

    [Fact]
    public void Record_SplitsActiveEnergyByCpuTime_IdleApart_RestToOther()
    {
        var ledger = NewLedger(new AttributionOptions { IdlePowerWatts = { ["cpu.package"] = 10 } });
        Pass(ledger, busyTicks: 0);
        Thread(100, 101, 0);
        Thread(100, 102, 0);
        var a = ledger.Start("a");
        a.TrackThread(100, 101);
        var b = ledger.Start("b");
        b.TrackThread(100, 102);

        // One second: the node was busy 100 ticks, a's thread 50 of them, b's 25.
        Thread(100, 101, 50);
        Thread(100, 102, 25);
        Pass(ledger, busyTicks: 100, Delta("cpu.package", 40));

        Assert.Equal(15, ledger.Read("a").EnergyJoules, 9);
        Assert.Equal(7.5, ledger.Read("b").EnergyJoules, 9);
        Assert.Equal(new IntervalAttribution(40, 22.5, 10, 7.5), ledger.LastInterval);
    }

    [Fact]
    public void Record_RandomLoadsJobsAndDomains_JobsPlusIdlePlusOtherIsTheNodeTotalEveryInterval()
    {
        var random = new Random(5);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var ledger = NewLedger(new AttributionOptions { IdleWindow = TimeSpan.FromMinutes(2) }, metrics);
        Pass(ledger, busyTicks: 0);
        var running = new Dictionary<string, (int Tid, long Ticks)>();
        var nextTid = 1000;
        double reportedToJobs = 0;

        for (var i = 0; i < 500; i++)
        {
            if (random.NextDouble() < 0.2 && running.Count < 6)
            {
                var id = $"job{i}";
                var tid = nextTid++;
                Thread(100, tid, 0);
                ledger.Start(id).TrackThread(100, tid);
                running[id] = (tid, 0);
            }

            if (random.NextDouble() < 0.1 && running.Count > 0)
            {
                var id = running.Keys.First();
                reportedToJobs += ledger.Stop(id).EnergyJoules;
                running.Remove(id);
            }

            // Jobs' CPU times are read a moment apart from /proc/stat, so they may add up to a
            // little more than the node's busy time: the split must still hold.
            var busy = random.Next(0, 200);
            foreach (var (id, (tid, ticks)) in running.ToList())
            {
                var used = random.Next(0, (busy / Math.Max(1, running.Count)) + 5);
                running[id] = (tid, ticks + used);
                Thread(100, tid, ticks + used);
            }

            var whole = random.NextDouble() < 0.2;
            var deltas = new List<EnergyDelta>
            {
                Delta("cpu.package", random.Next(5, 150)),
                Delta("dram", random.Next(1, 20), EnergyProvenance.Modelled),
                Delta("gpu0", random.Next(60, 700)),
            };
            if (whole)
            {
                deltas.Add(Delta("platform.bat0", random.Next(100, 1000)));
            }

            Pass(ledger, busy, [.. deltas]);
            var split = ledger.LastInterval!;
            var node = whole ? deltas[^1].EnergyJoules : deltas.Sum(d => d.EnergyJoules);
            Assert.Equal(node, split.NodeJoules, 9);
            Assert.InRange((split.JobsJoules + split.IdleJoules + split.OtherJoules) / node, 0.995, 1.005);
            Assert.True(split.JobsJoules >= 0 && split.IdleJoules >= 0 && split.OtherJoules >= -1e-9);
        }

        Assert.True(reportedToJobs > 0);
    }

    [Fact]
    public void Record_ModelledDomainUsesTheModelsIdle_MeasuredDomainItsLowestRecentPower()
    {
        _proc.Write("meminfo", "MemTotal: 33554432 kB");
        var ram = new RamModelSensor(new RamModelOptions(), _proc.Root, _time);
        var ledger = NewLedger(new AttributionOptions { IdleWindow = TimeSpan.FromSeconds(10) }, ram);
        Pass(ledger, busyTicks: 0);

        Pass(ledger, busyTicks: 0, Delta("cpu.package", 30), Delta("dram", 5, EnergyProvenance.Modelled));
        Assert.Equal(30 + 2, ledger.LastInterval!.IdleJoules, 9);
        Pass(ledger, busyTicks: 0, Delta("cpu.package", 50), Delta("dram", 5, EnergyProvenance.Modelled));
        Assert.Equal(30 + 2, ledger.LastInterval!.IdleJoules, 9);

        // After the window the 30 W minimum is forgotten.
        for (var i = 0; i < 12; i++)
        {
            Pass(ledger, busyTicks: 0, Delta("cpu.package", 45));
        }

        Assert.Equal(45, ledger.LastInterval!.IdleJoules, 9);
    }

    [Fact]
    public void Record_GpuEnergySplitByProcessUse_ProcessTreeAndCgroupCounted()
    {
        var gpu = new ScriptedGpu();
        var ledger = NewLedger(new AttributionOptions { IdlePowerWatts = { ["gpu0"] = 100, ["cpu.package"] = 0 } }, gpu);
        Pass(ledger, busyTicks: 0);

        // "train" is a process tree: 200 with its child 201. "serve" is a cgroup.
        Process(200, 0, 0, 0);
        Process(201, 0, 0, 0);
        _proc.Write("200/task/200/children", "201");
        var train = ledger.Start("train");
        train.TrackProcess(200);
        _proc.Write("cg/serve/cpu.stat", "usage_usec 0\nuser_usec 0");
        _proc.Write("cg/serve/cgroup.procs", "300");
        var serve = ledger.Start("serve");
        serve.TrackCgroup(Path.Combine(_proc.Root, "cg", "serve"));

        Process(200, 10, 5, 5);
        Process(201, 20, 0, 0);
        _proc.Write("cg/serve/cpu.stat", "usage_usec 400000\nuser_usec 400000");
        gpu.Usage = new Dictionary<int, double> { [201] = 60, [300] = 20, [999] = 20 };
        Pass(ledger, busyTicks: 100, Delta("cpu.package", 100), Delta("gpu0", 600));

        Assert.Equal([200, 201], train.Pids.Order());
        Assert.Equal(40 * JobCpuUsage.MicrosecondsPerTick, train.ReadMicroseconds());
        var trainEnergy = ledger.Read("train").Domains.ToDictionary(d => d.Domain, d => d.EnergyJoules);
        var serveEnergy = ledger.Read("serve").Domains.ToDictionary(d => d.Domain, d => d.EnergyJoules);
        Assert.Equal(40, trainEnergy["cpu.package"], 9);
        Assert.Equal(40, serveEnergy["cpu.package"], 9);
        Assert.Equal(300, trainEnergy["gpu0"], 9);
        Assert.Equal(100, serveEnergy["gpu0"], 9);
        Assert.Equal(new IntervalAttribution(700, 480, 100, 120), ledger.LastInterval);
    }

    [Fact]
    public void Record_NoJobRunning_AttributesNothing_AndAModelledDomainMakesTheJobModelled()
    {
        var ledger = NewLedger(new AttributionOptions { IdlePowerWatts = { ["cpu.package"] = 0, ["dram"] = 0 } });
        Pass(ledger, busyTicks: 0);
        Pass(ledger, busyTicks: 100, Delta("cpu.package", 50));
        Thread(100, 101, 0);
        ledger.Start("j").TrackThread(100, 101);
        Thread(100, 101, 100);

        Pass(ledger, busyTicks: 100, Delta("cpu.package", 5), Delta("dram", 5, EnergyProvenance.Modelled));

        var energy = ledger.Stop("j");
        Assert.Equal(10, energy.EnergyJoules, 9);
        Assert.Equal(5, energy.MeasuredEnergyJoules, 9);
        Assert.Equal(EnergyProvenance.Modelled, energy.Provenance);
        Assert.Equal(0, ledger.Read("j").EnergyJoules);
    }

    [Fact]
    public void JobCpuUsage_ThreadThatEnds_KeepsItsLastTime_AndTheTotalNeverFalls()
    {
        Thread(100, 101, 0);
        var usage = new JobCpuUsage(_proc.Root);
        var handle = usage.TrackThread(100, 101);
        Thread(100, 101, 30);
        handle.Dispose();
        _proc.Delete("100/task/101/stat");

        Assert.Equal(30 * JobCpuUsage.MicrosecondsPerTick, usage.ReadMicroseconds());
    }

    public void Dispose() => _proc.Dispose();

    private JobEnergyLedger NewLedger(AttributionOptions attribution, params IEnergySensor[] sensors) => NewLedger(attribution, null, sensors);

    /// <summary>A ledger over the fixture procfs; with <paramref name="metrics"/> its counters are fed too (and may not decrease).</summary>
    private JobEnergyLedger NewLedger(AttributionOptions attribution, AgentMetrics? metrics, params IEnergySensor[] sensors)
    {
        _proc.Write("stat", "cpu  0 0 0 0 0 0 0 0 0 0");
        return new JobEnergyLedger(Options.Create(new AgentOptions { Attribution = attribution, Sensors = { ProcRoot = _proc.Root } }), sensors, _time, metrics);
    }

    /// <summary>One sampling pass after one second in which the node was busy <paramref name="busyTicks"/>.</summary>
    private void Pass(JobEnergyLedger ledger, long busyTicks, params EnergyDelta[] deltas)
    {
        _nodeBusyTicks += busyTicks;
        _proc.Write("stat", $"cpu  {_nodeBusyTicks} 0 0 1000 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0");
        _time.Advance(TimeSpan.FromSeconds(1));
        ledger.Record(deltas);
    }

    private void Thread(int pid, int tid, long ticks) => _proc.Write($"{pid}/task/{tid}/stat", Stat(tid, ticks, 0, 0));

    private void Process(int pid, long utime, long cutime, long cstime) => _proc.Write($"{pid}/stat", Stat(pid, utime, cutime, cstime));

    private static string Stat(int pid, long utime, long cutime, long cstime) =>
        string.Create(CultureInfo.InvariantCulture, $"{pid} (burn (worker)) R 1 1 1 0 -1 0 0 0 0 0 {utime} 0 {cutime} {cstime} 20 0 1 0 0");

    private EnergyDelta Delta(string domain, double joules, EnergyProvenance provenance = EnergyProvenance.Measured) =>
        new(domain, _time.GetUtcNow(), TimeSpan.FromSeconds(1), joules, provenance);

    /// <summary>Per-process GPU use as NVML would give it; the NVML path itself is tested against the fake library.</summary>
    private sealed class ScriptedGpu : IEnergySensor, IGpuProcessUsage
    {
        public Dictionary<int, double> Usage { get; set; } = [];

        public string Id => "gpu";

        public IReadOnlyList<SensorDescriptor> Describe() => [];

        public IReadOnlyList<EnergyDelta> Sample() => [];

        public IReadOnlyDictionary<string, IReadOnlyDictionary<int, double>> ReadProcessUsage() =>
            new Dictionary<string, IReadOnlyDictionary<int, double>> { ["gpu0"] = Usage };
    }
}
