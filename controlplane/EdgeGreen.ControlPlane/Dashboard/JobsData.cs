using EdgeGreen.ControlPlane.Jobs;
using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>The jobs page: the newest jobs and, for each zone they are planned or ran in, its intensity around now.</summary>
public sealed record JobsView(DateTimeOffset At, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ZoneTimeline> Zones, IReadOnlyList<JobRecord> Jobs);

/// <summary>
/// One zone's grid intensity over the window (measured history, then the forecast) with the
/// moments of its jobs on it: a planned start sitting in a dip of the forecast is why a job waits.
/// </summary>
public sealed record ZoneTimeline(string Zone, IReadOnlyList<IntensityPoint> History, IReadOnlyList<IntensityPoint> Forecast, IReadOnlyList<TimelineMark> Marks, string? Problem);

public enum TimelineMarkKind
{
    PlannedStart,
    ActualStart,
    Deadline,
}

/// <summary>A job's moment on its zone's curve, at the intensity of that moment (null where the curve has no value there).</summary>
public sealed record TimelineMark(string JobId, string JobName, TimelineMarkKind Kind, DateTimeOffset Time, double? IntensityGramsPerKwh);

/// <summary>What a job saved against running at once: realised once it has run, else as forecast at planning.</summary>
public sealed record JobSaving(double Grams, bool Forecast)
{
    public static JobSaving? Of(JobRecord job) =>
        job is { RunNowRealisedCarbonGrams: { } runNow, CarbonGrams: { } carbon } ? new JobSaving(runNow - carbon, false)
        : !job.IsFinished && job is { RunNowCarbonGrams: { } plannedRunNow, ForecastCarbonGrams: { } forecast } ? new JobSaving(plannedRunNow - forecast, true)
        : null;
}

public static class JobStatusText
{
    /// <summary>
    /// The status as a word: a pending job with a plan is "planned" (the API's <c>pending</c> with a
    /// <c>plannedStart</c>), one still without a placement "pending".
    /// </summary>
    public static string Of(JobRecord job) => job is { Status: JobStatus.Pending, PlannedStart: not null } ? "planned" : EnumNames.Lower(job.Status);
}

public sealed class JobsData(IJobStore jobs, CarbonIntensity carbon, TimeProvider time)
{
    /// <summary>The most jobs the page lists (newest first).</summary>
    public const int MaxJobs = 200;

    private static readonly TimeSpan Window = TimeSpan.FromHours(24);

    public async Task<JobsView> LoadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (from, to) = (now - Window, now + Window);
        var listed = await jobs.ListAsync(new JobQuery(Limit: MaxJobs), cancellationToken);
        var known = (await carbon.GetZonesAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);

        var zones = new List<ZoneTimeline>();
        foreach (var group in listed.Where(j => j.Zone is not null && Moments(j).Any(m => m.Time >= from && m.Time <= to))
                     .GroupBy(j => j.Zone!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            zones.Add(known.Contains(group.Key)
                ? await TimelineAsync(group.Key, group, now, from, to, cancellationToken)
                : new ZoneTimeline(group.Key, [], [], Marks(group, [], from, to), "This zone has no intensity data."));
        }

        return new JobsView(now, from, to, zones, listed);
    }

    private async Task<ZoneTimeline> TimelineAsync(string zone, IEnumerable<JobRecord> zoneJobs, DateTimeOffset now, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken)
    {
        try
        {
            var history = (await carbon.GetHistoryAsync(zone, from, now, cancellationToken)).DistinctBy(p => p.Time).OrderBy(p => p.Time).ToList();
            var forecast = (await carbon.GetForecastAsync(zone, (int)Window.TotalHours, null, cancellationToken)).Points.Where(p => p.Time <= to).ToList();
            return new ZoneTimeline(zone, history, forecast, Marks(zoneJobs, [.. history, .. forecast], from, to), null);
        }
        catch (CarbonSourceUnavailableException ex)
        {
            return new ZoneTimeline(zone, [], [], Marks(zoneJobs, [], from, to), ex.Message);
        }
    }

    private static List<TimelineMark> Marks(IEnumerable<JobRecord> zoneJobs, IReadOnlyList<IntensityPoint> curve, DateTimeOffset from, DateTimeOffset to) =>
        [.. zoneJobs.SelectMany(j => Moments(j).Where(m => m.Time >= from && m.Time <= to)
            .Select(m => new TimelineMark(j.Id, j.Name, m.Kind, m.Time, IntensityAt(curve, m.Time))))];

    private static IEnumerable<(TimelineMarkKind Kind, DateTimeOffset Time)> Moments(JobRecord job)
    {
        // A job that started is drawn where it started; its plan is what it was before, and is kept only while it waits.
        if (job.StartedAt is { } started)
        {
            yield return (TimelineMarkKind.ActualStart, started);
        }
        else if (job.PlannedStart is { } planned && !job.IsFinished)
        {
            yield return (TimelineMarkKind.PlannedStart, planned);
        }

        if (!job.IsFinished)
        {
            yield return (TimelineMarkKind.Deadline, job.Deadline);
        }
    }

    /// <summary>The intensity of the interval holding <paramref name="time"/>, else of the nearest point (within two hours).</summary>
    private static double? IntensityAt(IReadOnlyList<IntensityPoint> curve, DateTimeOffset time)
    {
        if (curve.LastOrDefault(p => p.Time <= time && time < p.Time + p.Duration) is { } holding)
        {
            return holding.IntensityGramsPerKwh;
        }

        var nearest = curve.OrderBy(p => (p.Time - time).Duration()).FirstOrDefault();
        return nearest is not null && (nearest.Time - time).Duration() <= TimeSpan.FromHours(2) ? nearest.IntensityGramsPerKwh : null;
    }
}

/// <summary>One job's page: the record, its energy report as the REST API computes it, and whether it can still be cancelled.</summary>
public sealed record JobDetail(string Id, JobRecord? Job, JobEnergyReport? Energy)
{
    public bool Cancellable => Job is { Status: JobStatus.Pending or JobStatus.Held } or { Status: JobStatus.Running, StopReason: null };
}

/// <summary>What a dashboard action on jobs came to: the job, or the reason it was not done.</summary>
public sealed record JobActionResult(JobRecord? Job, string? Problem);

public sealed class JobData(IJobStore jobs, JobScheduler scheduler, ClusterMembership cluster)
{
    public async Task<JobDetail> LoadAsync(string id, CancellationToken cancellationToken) =>
        await jobs.GetAsync(id, cancellationToken) is { } job ? new JobDetail(id, job, JobEnergyReport.From(job)) : new JobDetail(id, null, null);

    /// <summary>Cancels as <c>POST /api/v1/jobs/{id}/cancel</c> does (the caller has checked the user may).</summary>
    public async Task<JobActionResult> CancelAsync(string id, CancellationToken cancellationToken)
    {
        if (NotLeader(cluster) is { } elsewhere)
        {
            return new JobActionResult(null, elsewhere);
        }

        try
        {
            return new JobActionResult(await scheduler.CancelAsync(id, cancellationToken), null);
        }
        catch (JobStateException ex)
        {
            return new JobActionResult(null, ex.Message);
        }
    }

    /// <summary>
    /// Job changes happen on the leader alone; the REST API forwards them there with the caller's
    /// key, which a dashboard session does not hold, so another replica says where to go instead.
    /// </summary>
    internal static string? NotLeader(ClusterMembership cluster) => cluster.IsLeader ? null
        : cluster.Leader?.HttpUrl is { } leader ? $"This control plane does not lead the cluster: open the dashboard on the leader, {leader}, to change jobs."
        : "No control plane leads the cluster right now (an election is under way); try again in a few seconds.";
}
