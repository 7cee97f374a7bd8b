using EdgeGreen.Agent.Sensors;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// Splits the node's sampled energy across the jobs running when it was sampled, in proportion
/// to the CPU cores each job reserved, so that the jobs' energies add up to what the node used
/// while they ran. Energy sampled while no job runs belongs to no job.
/// </summary>
public sealed class JobEnergyLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Share> _jobs = new(StringComparer.Ordinal);

    public void Start(string jobId, int cpuCores)
    {
        lock (_gate)
        {
            _jobs[jobId] = new Share(Math.Max(1, cpuCores));
        }
    }

    /// <summary>Energy attributed so far; zero for a job the ledger does not know.</summary>
    public JobEnergy Read(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var share) ? share.ToEnergy() : new JobEnergy(0, EnergyProvenance.Modelled);
        }
    }

    /// <summary>Stops attributing energy to the job and returns its total.</summary>
    public JobEnergy Stop(string jobId)
    {
        lock (_gate)
        {
            return _jobs.Remove(jobId, out var share) ? share.ToEnergy() : new JobEnergy(0, EnergyProvenance.Modelled);
        }
    }

    /// <summary>Called by sampling with the plausible deltas of one sensor read.</summary>
    public void Record(IReadOnlyList<EnergyDelta> deltas)
    {
        if (deltas.Count == 0)
        {
            return;
        }

        var joules = deltas.Sum(d => d.EnergyJoules);
        var measured = deltas.All(d => d.Provenance == EnergyProvenance.Measured);
        lock (_gate)
        {
            var weights = _jobs.Values.Sum(s => s.CpuCores);
            foreach (var share in _jobs.Values)
            {
                share.EnergyJoules += joules * share.CpuCores / weights;
                share.AllMeasured &= measured;
                share.Samples++;
            }
        }
    }

    private sealed class Share(int cpuCores)
    {
        public int CpuCores { get; } = cpuCores;

        public double EnergyJoules { get; set; }

        public bool AllMeasured { get; set; } = true;

        public int Samples { get; set; }

        public JobEnergy ToEnergy() =>
            new(EnergyJoules, Samples > 0 && AllMeasured ? EnergyProvenance.Measured : EnergyProvenance.Modelled);
    }
}

/// <summary>Energy attributed to a job and how it was obtained.</summary>
public sealed record JobEnergy(double EnergyJoules, EnergyProvenance Provenance);
