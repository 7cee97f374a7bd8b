using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared.Jobs;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>The scheduler's Prometheus series.</summary>
public sealed class JobMetrics(IMetricFactory factory)
{
    public Counter Submitted { get; } = factory.CreateCounter("edgegreen_jobs_submitted_total", "Jobs accepted by POST /api/v1/jobs.");

    public Counter Refused { get; } = factory.CreateCounter("edgegreen_jobs_refused_total",
        "Submissions refused because the best placement exceeded the job's budget.");

    public Counter Finished { get; } = factory.CreateCounter("edgegreen_jobs_finished_total",
        "Jobs that reached a final status, by status.", ["status"])
        .WithSeries(Enum.GetValues<JobStatus>().Where(s => JobRecord.IsFinal(s)).Select(s => s.ToString().ToLowerInvariant()));

    public Counter LeasesLost { get; } = factory.CreateCounter("edgegreen_jobs_leases_lost_total",
        "Leases that ran out (or that a reconnecting agent no longer held); the job went back to the queue or failed.");

    public Counter CompletionsRefused { get; } = factory.CreateCounter("edgegreen_jobs_completions_refused_total",
        "Progress or completion reports from an agent that no longer held the job's lease.");

    public Counter TickErrors { get; } = factory.CreateCounter("edgegreen_scheduler_errors_total",
        "Scheduler steps that failed (logged); the next step runs as usual.");

    public Histogram PlanningSeconds { get; } = factory.CreateHistogram("edgegreen_scheduler_planning_seconds",
        "Time to replan every pending job.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 4, 8) });

    public Counter EnergyJoules { get; } = factory.CreateCounter("edgegreen_jobs_energy_joules_total",
        "Energy of finished jobs, by job kind.", ["kind"])
        .WithSeries(JobKinds.All.Select(k => k.Name));

    /// <summary>
    /// One series per running job, removed once it stops running: bounded by the jobs running at
    /// once (at most one per agent slot), never by the jobs ever run.
    /// </summary>
    public Gauge RunningEnergyJoules { get; } = factory.CreateGauge("edgegreen_job_energy_joules",
        "Energy so far of each running job, from its last progress report; the series goes when the job stops running.", ["job", "kind"]);

    public Counter CarbonGrams { get; } = factory.CreateCounter("edgegreen_jobs_carbon_grams_total",
        "Emissions of finished jobs at the realised intensity of where and when they ran.");

    public Gauge SavedCarbonGrams { get; } = factory.CreateGauge("edgegreen_jobs_saved_carbon_grams",
        "Emissions of finished jobs had they run at once, minus their actual emissions (negative when a job ended up dirtier).");
}
