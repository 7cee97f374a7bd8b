using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Jobs as JSON bodies beside the fields the queries filter on (status, name, submission and finish time),
/// so that the record can grow without a mapping per field.
/// </summary>
public sealed class LiteDbJobStore : IJobStore
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };
    private static readonly string[] ActiveStatuses = [nameof(JobStatus.Pending), nameof(JobStatus.Held), nameof(JobStatus.Running)];

    /// <summary>Jobs read per page by <see cref="ListAllAsync"/>.</summary>
    private const int PageSize = 1_000;

    private readonly LiteDbDatabase _database;

    private ILiteCollection<JobDocument> Jobs => _database.Database.GetCollection<JobDocument>("jobs");

    public LiteDbJobStore(LiteDbDatabase database)
    {
        _database = database;
        Jobs.EnsureIndex(j => j.Status);
        Jobs.EnsureIndex(j => j.Name);
        Jobs.EnsureIndex(j => j.SubmittedAtTicks);
        Jobs.EnsureIndex(j => j.FinishedAtTicks);
    }

    public Task AddAsync(JobRecord job, CancellationToken cancellationToken)
    {
        _database.Write(_ => Jobs.Insert(JobDocument.From(job)));
        return Task.CompletedTask;
    }

    public Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken) =>
        Task.FromResult(Jobs.FindById(jobId)?.ToRecord());

    public Task<bool> UpdateAsync(JobRecord job, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ => Jobs.Update(JobDocument.From(job))));

    public Task UpdateManyAsync(IReadOnlyCollection<JobRecord> jobs, CancellationToken cancellationToken)
    {
        if (jobs.Count > 0)
        {
            _database.Write(_ => Jobs.Update(jobs.Select(JobDocument.From)));
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        var status = query.Status?.ToString();
        var found = Jobs.Query()
            .Where(j => (status == null || j.Status == status) && (query.Name == null || j.Name == query.Name))
            .OrderByDescending(j => j.SubmittedAtTicks)
            .Limit(query.Limit)
            .ToList();
        return Task.FromResult<IReadOnlyList<JobRecord>>([.. found.Select(j => j.ToRecord())]);
    }

    public Task<IReadOnlyList<JobRecord>> ListActiveAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobRecord>>(
            [.. Jobs.Find(LiteQueries.In(nameof(JobDocument.Status), new BsonArray(ActiveStatuses.Select(s => new BsonValue(s))))).Select(j => j.ToRecord())
                .OrderBy(j => j.SubmittedAt)]);

    public Task<IReadOnlyList<JobRecord>> ListSucceededAsync(string name, int limit, CancellationToken cancellationToken)
    {
        var succeeded = nameof(JobStatus.Succeeded);
        return Task.FromResult<IReadOnlyList<JobRecord>>([.. Jobs.Query()
            .Where(j => j.Name == name && j.Status == succeeded)
            .OrderByDescending(j => j.SubmittedAtTicks)
            .Limit(limit)
            .ToList()
            .Select(j => j.ToRecord())]);
    }

    public Task<IReadOnlyList<JobRecord>> ListFinishedAsync(DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken)
    {
        long fromTicks = from.UtcTicks, toTicks = to.UtcTicks;
        return Task.FromResult<IReadOnlyList<JobRecord>>([.. Jobs.Query()
            .Where(j => j.FinishedAtTicks >= fromTicks && j.FinishedAtTicks < toTicks)
            .OrderBy(j => j.FinishedAtTicks)
            .Limit(limit)
            .ToList()
            .Select(j => j.ToRecord())]);
    }

    public async IAsyncEnumerable<JobRecord> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Pages by _id: a page is read whole, so no cursor stays open across the caller's awaits
        // (LiteDB's transactions belong to a thread). Ids are unique under the collection's
        // collation, so "after the last id" misses none.
        var after = BsonValue.MinValue;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lower = after;
            var page = _database.Read(() => Jobs.Find(LiteQueries.GT("_id", lower), limit: PageSize).ToList());
            foreach (var job in page)
            {
                yield return job.ToRecord();
            }

            if (page.Count < PageSize)
            {
                break;
            }

            after = page[^1].Id;
        }

        await Task.CompletedTask;
    }

    internal sealed class JobDocument
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public string Status { get; set; } = "";

        public long SubmittedAtTicks { get; set; }

        /// <summary>When the job finished; 0 while it has not.</summary>
        public long FinishedAtTicks { get; set; }

        public string Body { get; set; } = "";

        public static JobDocument From(JobRecord job) => new()
        {
            Id = job.Id,
            Name = job.Name,
            Status = job.Status.ToString(),
            SubmittedAtTicks = job.SubmittedAt.UtcTicks,
            FinishedAtTicks = job.FinishedAt?.UtcTicks ?? 0,
            Body = System.Text.Json.JsonSerializer.Serialize(job, Json),
        };

        public JobRecord ToRecord() => System.Text.Json.JsonSerializer.Deserialize<JobRecord>(Body, Json)
            ?? throw new InvalidDataException($"Job {Id} has an empty body.");
    }
}
