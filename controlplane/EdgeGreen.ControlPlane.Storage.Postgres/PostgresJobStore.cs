using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Jobs as JSON bodies beside the columns the queries filter and sort on (status, name, submission
/// and finish time), so that the record can grow without a column per field.
/// </summary>
public sealed class PostgresJobStore(PostgresDatabase database) : IJobStore
{
    private const string InsertSql =
        "INSERT INTO jobs (id, name, status, submitted_at_ticks, finished_at_ticks, body) VALUES (@id, @name, @status, @submitted, @finished, @body)";

    private const string UpdateSql =
        "UPDATE jobs SET name = @name, status = @status, submitted_at_ticks = @submitted, finished_at_ticks = @finished, body = @body WHERE id = @id";

    private static readonly string[] ActiveStatuses = [nameof(JobStatus.Pending), nameof(JobStatus.Held), nameof(JobStatus.Running)];

    public Task AddAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = Bind(PostgresDatabase.Command(connection, InsertSql), job);
            return await command.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT body FROM jobs WHERE id = @id");
            command.Parameters.AddWithValue("id", jobId);
            return await command.ExecuteScalarAsync(token) is string body ? PostgresJson.Read<JobRecord>(body, "job") : null;
        }, cancellationToken);

    public Task<bool> UpdateAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = Bind(PostgresDatabase.Command(connection, UpdateSql), job);
            return await command.ExecuteNonQueryAsync(token) == 1;
        }, cancellationToken);
    }

    public Task UpdateManyAsync(IReadOnlyCollection<JobRecord> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
        {
            return Task.CompletedTask;
        }

        return database.WriteAsync(async (connection, _, token) =>
        {
            // One round trip; in order, so a job given twice ends as its last copy.
            await using var batch = new NpgsqlBatch(connection);
            foreach (var job in jobs)
            {
                var command = new NpgsqlBatchCommand(UpdateSql);
                Bind(command.Parameters, job);
                batch.BatchCommands.Add(command);
            }

            return await batch.ExecuteNonQueryAsync(token);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ListAsync("""
            SELECT body FROM jobs
            WHERE (@status::text IS NULL OR status = @status) AND (@name::text IS NULL OR name = @name)
            ORDER BY submitted_at_ticks DESC, id DESC LIMIT @limit
            """, p =>
        {
            p.AddWithValue("status", NpgsqlDbType.Text, (object?)query.Status?.ToString() ?? DBNull.Value);
            p.AddWithValue("name", NpgsqlDbType.Text, (object?)query.Name ?? DBNull.Value);
            p.AddWithValue("limit", Math.Max(0, query.Limit));
        }, cancellationToken);
    }

    public Task<IReadOnlyList<JobRecord>> ListActiveAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM jobs WHERE status = ANY(@statuses) ORDER BY submitted_at_ticks, id",
            p => p.AddWithValue("statuses", ActiveStatuses), cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListFinishedAsync(DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken) =>
        ListAsync("""
            SELECT body FROM jobs WHERE finished_at_ticks >= @from AND finished_at_ticks < @to
            ORDER BY finished_at_ticks, id LIMIT @limit
            """, p =>
        {
            p.AddWithValue("from", from.UtcTicks);
            p.AddWithValue("to", to.UtcTicks);
            p.AddWithValue("limit", Math.Max(0, limit));
        }, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListSucceededAsync(string name, int limit, CancellationToken cancellationToken) =>
        ListAsync("SELECT body FROM jobs WHERE name = @name AND status = @status ORDER BY submitted_at_ticks DESC, id DESC LIMIT @limit", p =>
        {
            p.AddWithValue("name", name);
            p.AddWithValue("status", nameof(JobStatus.Succeeded));
            p.AddWithValue("limit", Math.Max(0, limit));
        }, cancellationToken);

    public IAsyncEnumerable<JobRecord> ListAllAsync(CancellationToken cancellationToken) =>
        database.StreamAsync("SELECT body FROM jobs ORDER BY id", _ => { }, r => PostgresJson.Read<JobRecord>(r.GetString(0), "job"), cancellationToken);

    private Task<IReadOnlyList<JobRecord>> ListAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<JobRecord>>(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var jobs = new List<JobRecord>();
            while (await reader.ReadAsync(token))
            {
                jobs.Add(PostgresJson.Read<JobRecord>(reader.GetString(0), "job"));
            }

            return jobs;
        }, cancellationToken);

    private static NpgsqlCommand Bind(NpgsqlCommand command, JobRecord job)
    {
        Bind(command.Parameters, job);
        return command;
    }

    private static void Bind(NpgsqlParameterCollection parameters, JobRecord job)
    {
        parameters.AddWithValue("id", job.Id);
        parameters.AddWithValue("name", job.Name);
        parameters.AddWithValue("status", job.Status.ToString());
        parameters.AddWithValue("submitted", job.SubmittedAt.UtcTicks);
        parameters.AddWithValue("finished", NpgsqlDbType.Bigint, (object?)job.FinishedAt?.UtcTicks ?? DBNull.Value);
        parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(job));
    }
}
