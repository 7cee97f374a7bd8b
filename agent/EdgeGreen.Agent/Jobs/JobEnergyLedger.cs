using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Sensors.Nvml;
using EdgeGreen.Contracts;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// Splits each sampling pass's node energy into idle, each running job's share, and the rest
/// (the OS, the agent, processes outside any job), so that per interval the parts add up to the
/// node total (<see cref="EnergyDomains.NodeTotal"/>).
/// <list type="bullet">
/// <item>Idle power per domain: configured (<c>Attribution:IdlePowerWatts</c>), else the model's own
/// idle term for modelled domains, else the lowest power the domain drew in the last
/// <c>Attribution:IdleWindow</c>. Idle energy belongs to no job.</item>
/// <item>Active energy (the rest) of a GPU domain goes to jobs by their processes' share of the
/// GPU's per-process utilisation; of any other domain, by each job's CPU time over the node's busy
/// CPU time in the interval (/proc/stat). What no job accounts for is "other".</item>
/// </list>
/// Where a whole-node domain is reported (battery, board input rail, psys) only it is split, as the
/// components are inside it.
/// </summary>
public sealed class JobEnergyLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JobAccount> _jobs = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<IIdlePower> _idleModels;
    private readonly IReadOnlyList<IGpuProcessUsage> _gpuUsage;
    private readonly AttributionOptions _options;
    private readonly string _procRoot;
    private readonly TimeProvider _timeProvider;
    private readonly AgentMetrics? _metrics;
    private readonly Dictionary<string, IdleEstimator> _idle = new(StringComparer.Ordinal);
    private ProcStat? _lastStat;

    public JobEnergyLedger(IOptions<AgentOptions> options, IEnumerable<IEnergySensor> sensors, TimeProvider timeProvider, AgentMetrics? metrics = null)
    {
        var list = sensors.ToList();
        _idleModels = [.. list.OfType<IIdlePower>()];
        _gpuUsage = [.. list.OfType<IGpuProcessUsage>()];
        _options = options.Value.Attribution;
        _procRoot = options.Value.Sensors.ProcRoot;
        _timeProvider = timeProvider;
        _metrics = metrics;
    }

    /// <summary>The split of the latest pass, for inspection.</summary>
    public IntervalAttribution? LastInterval { get; private set; }

    /// <summary>Starts attributing energy to a job; the job registers its threads, processes or cgroup on the returned usage.</summary>
    public JobCpuUsage Start(string jobId)
    {
        lock (_gate)
        {
            var account = new JobAccount(new JobCpuUsage(_procRoot));
            _jobs[jobId] = account;
            return account.Cpu;
        }
    }

    /// <summary>Energy attributed so far; zero for a job the ledger does not know.</summary>
    public JobEnergy Read(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var account) ? account.ToEnergy() : JobEnergy.None;
        }
    }

    /// <summary>Stops attributing energy to the job and returns its total.</summary>
    public JobEnergy Stop(string jobId)
    {
        lock (_gate)
        {
            return _jobs.Remove(jobId, out var account) ? account.ToEnergy() : JobEnergy.None;
        }
    }

    /// <summary>Called once per sampling pass with the plausible deltas of every sensor.</summary>
    public void Record(IReadOnlyList<EnergyDelta> deltas)
    {
        var nodeBusyMicroseconds = ReadNodeBusyMicroseconds();
        // Per-process GPU use matters only to split a GPU between jobs: no NVML call while none runs.
        bool anyJob;
        lock (_gate)
        {
            anyJob = _jobs.Count > 0;
        }

        var gpuUsage = _gpuUsage.Count == 0 || !anyJob ? null : _gpuUsage.SelectMany(g => g.ReadProcessUsage()).ToDictionary(u => u.Key, u => u.Value, StringComparer.Ordinal);
        if (deltas.Count == 0)
        {
            return;
        }

        var attributed = deltas.Any(d => EnergyDomains.IsWholeNode(d.Domain)) ? deltas.Where(d => EnergyDomains.IsWholeNode(d.Domain)).ToList() : deltas;
        lock (_gate)
        {
            var cpu = _jobs.ToDictionary(j => j.Key, j => j.Value.TakeCpuDelta(), StringComparer.Ordinal);
            var jobCpuTotal = cpu.Values.Sum();
            var cpuBase = Math.Max(nodeBusyMicroseconds ?? 0, jobCpuTotal);

            double idleTotal = 0, otherTotal = 0, jobsTotal = 0;
            foreach (var delta in attributed)
            {
                var idleWatts = IdleWatts(delta);
                var idle = Math.Min(delta.EnergyJoules, idleWatts * delta.Interval.TotalSeconds);
                var active = delta.EnergyJoules - idle;
                var shares = gpuUsage?.GetValueOrDefault(delta.Domain) is { Count: > 0 } processes
                    ? GpuShares(processes)
                    : _jobs.Keys.ToDictionary(id => id, id => cpuBase > 0 ? (double)cpu[id] / cpuBase : 0, StringComparer.Ordinal);
                var given = 0.0;
                foreach (var (id, share) in shares)
                {
                    var joules = active * share;
                    _jobs[id].Add(delta, joules);
                    given += joules;
                }

                idleTotal += idle;
                jobsTotal += given;

                // The shares sum to at most 1, but their products can pass `active` by a rounding
                // step; "other" never goes below zero (and a Prometheus counter cannot decrease).
                otherTotal += Math.Max(0, active - given);
            }

            LastInterval = new IntervalAttribution(EnergyDomains.NodeTotal(deltas, d => d.Domain, d => d.EnergyJoules), jobsTotal, idleTotal, otherTotal);
            _metrics?.AttributedEnergyJoules.WithLabels("jobs").Inc(jobsTotal);
            _metrics?.AttributedEnergyJoules.WithLabels("idle").Inc(idleTotal);
            _metrics?.AttributedEnergyJoules.WithLabels("other").Inc(otherTotal);
        }
    }

    /// <summary>Each job's share of a GPU: its processes' utilisation over all processes'; a process shared by in-agent jobs is split evenly.</summary>
    private Dictionary<string, double> GpuShares(IReadOnlyDictionary<int, double> processes)
    {
        var total = processes.Values.Sum();
        var owners = _jobs.ToDictionary(j => j.Key, j => j.Value.Cpu.Pids, StringComparer.Ordinal);
        var shares = _jobs.Keys.ToDictionary(id => id, _ => 0.0, StringComparer.Ordinal);
        if (total <= 0)
        {
            return shares;
        }

        foreach (var (pid, use) in processes)
        {
            var owning = owners.Where(o => o.Value.Contains(pid)).Select(o => o.Key).ToList();
            foreach (var id in owning)
            {
                shares[id] += use / total / owning.Count;
            }
        }

        return shares;
    }

    private double IdleWatts(EnergyDelta delta)
    {
        if (_options.IdlePowerWatts.TryGetValue(delta.Domain, out var configured))
        {
            return configured;
        }

        foreach (var model in _idleModels)
        {
            if (model.IdlePowerWatts(delta.Domain) is { } watts)
            {
                return watts;
            }
        }

        if (!_idle.TryGetValue(delta.Domain, out var estimator))
        {
            _idle[delta.Domain] = estimator = new IdleEstimator(_options.IdleWindow);
        }

        return estimator.Observe(_timeProvider.GetTimestamp(), _timeProvider, delta.PowerWatts);
    }

    private long? ReadNodeBusyMicroseconds()
    {
        try
        {
            var stat = ProcStat.Read(_procRoot);
            var previous = _lastStat;
            _lastStat = stat;
            return previous is null || stat.Busy < previous.Busy ? null : (long)(stat.Busy - previous.Busy) * JobCpuUsage.MicrosecondsPerTick;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            return null;
        }
    }

    private sealed class JobAccount(JobCpuUsage cpu)
    {
        private readonly Dictionary<string, (double Joules, EnergyProvenance Provenance)> _byDomain = new(StringComparer.Ordinal);
        private long _lastCpu;

        public JobCpuUsage Cpu { get; } = cpu;

        public long TakeCpuDelta()
        {
            var now = Cpu.ReadMicroseconds();
            var delta = now - _lastCpu;
            _lastCpu = now;
            return delta;
        }

        public void Add(EnergyDelta delta, double joules)
        {
            var (sum, provenance) = _byDomain.GetValueOrDefault(delta.Domain, (0, EnergyProvenance.Measured));
            _byDomain[delta.Domain] = (sum + joules, delta.Provenance == EnergyProvenance.Modelled ? EnergyProvenance.Modelled : provenance);
        }

        public JobEnergy ToEnergy() =>
            new([.. _byDomain.Select(d => new DomainEnergy(d.Key, d.Value.Joules, d.Value.Provenance)).OrderBy(d => d.Domain, StringComparer.Ordinal)]);
    }

    /// <summary>The lowest power seen within a sliding window: a monotonic queue of (time, watts).</summary>
    private sealed class IdleEstimator(TimeSpan window)
    {
        private readonly LinkedList<(long Timestamp, double Watts)> _queue = new();

        public double Observe(long timestamp, TimeProvider clock, double watts)
        {
            while (_queue.Last is { } last && last.Value.Watts >= watts)
            {
                _queue.RemoveLast();
            }

            _queue.AddLast((timestamp, watts));
            while (_queue.First is { } first && clock.GetElapsedTime(first.Value.Timestamp, timestamp) > window)
            {
                _queue.RemoveFirst();
            }

            return _queue.First!.Value.Watts;
        }
    }
}

/// <summary>Energy of one domain attributed to a job.</summary>
public sealed record DomainEnergy(string Domain, double EnergyJoules, EnergyProvenance Provenance);

/// <summary>Energy attributed to a job, by domain.</summary>
public sealed record JobEnergy(IReadOnlyList<DomainEnergy> Domains)
{
    public static JobEnergy None { get; } = new([]);

    public double EnergyJoules => Domains.Sum(d => d.EnergyJoules);

    public double MeasuredEnergyJoules => Domains.Where(d => d.Provenance == EnergyProvenance.Measured).Sum(d => d.EnergyJoules);

    /// <summary>Measured only when every domain was; a job with no energy yet is modelled.</summary>
    public EnergyProvenance Provenance =>
        Domains.Count > 0 && Domains.All(d => d.Provenance == EnergyProvenance.Measured) ? EnergyProvenance.Measured : EnergyProvenance.Modelled;
}

/// <summary>One sampling pass split: jobs + idle + other = node total.</summary>
public sealed record IntervalAttribution(double NodeJoules, double JobsJoules, double IdleJoules, double OtherJoules);
