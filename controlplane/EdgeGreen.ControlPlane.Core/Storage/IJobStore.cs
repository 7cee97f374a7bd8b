namespace EdgeGreen.ControlPlane.Core.Storage;

public interface IJobStore
{
    Task AddAsync(JobRecord job, CancellationToken cancellationToken);

    Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Replaces the stored job. False when it does not exist.</summary>
    Task<bool> UpdateAsync(JobRecord job, CancellationToken cancellationToken);

    /// <summary>Replaces several jobs in one transaction.</summary>
    Task UpdateManyAsync(IReadOnlyCollection<JobRecord> jobs, CancellationToken cancellationToken);

    /// <summary>Jobs matching the query, newest submission first.</summary>
    Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>Every pending, held and running job (what the scheduler works on).</summary>
    Task<IReadOnlyList<JobRecord>> ListActiveAsync(CancellationToken cancellationToken);

    /// <summary>Jobs that finished in [<paramref name="from"/>, <paramref name="to"/>), oldest finish first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<JobRecord>> ListFinishedAsync(DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken);

    /// <summary>The newest succeeded jobs with this name, for estimates.</summary>
    Task<IReadOnlyList<JobRecord>> ListSucceededAsync(string name, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Every job, whatever its status, each once, in the store's key order; streamed a page at a
    /// time, so memory does not grow with the number of jobs (for copying the store).
    /// </summary>
    IAsyncEnumerable<JobRecord> ListAllAsync(CancellationToken cancellationToken);
}
