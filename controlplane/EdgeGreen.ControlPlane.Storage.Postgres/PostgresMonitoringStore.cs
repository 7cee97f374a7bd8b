using EdgeGreen.ControlPlane.Core.Monitoring;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Served traffic in four tables: the ids of summaries seen (to recognise resends), one row per
/// deployment version and hour with the sums as a <c>jsonb</c> body, predictions by deployment and
/// request id, and sampled requests.
/// </summary>
public sealed class PostgresMonitoringStore(PostgresDatabase database) : IMonitoringStore
{
    public Task<(int Accepted, int Duplicates)> AddSummariesAsync(IReadOnlyList<InferenceSummaryRecord> summaries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        return database.WriteAsync(async (connection, _, token) =>
        {
            var (accepted, duplicates) = (0, 0);
            foreach (var summary in summaries)
            {
                await using (var seen = PostgresDatabase.Command(connection,
                    "INSERT INTO monitoring_seen (agent_id, id, at_ticks) VALUES (@agent, @id, @at) ON CONFLICT DO NOTHING"))
                {
                    seen.Parameters.AddWithValue("agent", summary.AgentId);
                    seen.Parameters.AddWithValue("id", summary.Id);
                    seen.Parameters.AddWithValue("at", summary.Traffic.Start.UtcTicks);
                    if (await seen.ExecuteNonQueryAsync(token) == 0)
                    {
                        duplicates++;
                        continue;
                    }
                }

                await AddToHourAsync(connection, summary.Traffic, token);
                foreach (var prediction in summary.Predictions)
                {
                    await using var upsert = PostgresDatabase.Command(connection, """
                        INSERT INTO monitoring_predictions (deployment, request_id, time_ticks, body) VALUES (@deployment, @request, @time, @body)
                        ON CONFLICT (deployment, request_id) DO UPDATE SET time_ticks = EXCLUDED.time_ticks,
                            body = EXCLUDED.body || jsonb_strip_nulls(jsonb_build_object('Label', monitoring_predictions.body -> 'Label', 'LabelledAt', monitoring_predictions.body -> 'LabelledAt'))
                        """);
                    upsert.Parameters.AddWithValue("deployment", prediction.Deployment);
                    upsert.Parameters.AddWithValue("request", prediction.RequestId);
                    upsert.Parameters.AddWithValue("time", prediction.Time.UtcTicks);
                    upsert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(prediction));
                    await upsert.ExecuteNonQueryAsync(token);
                }

                foreach (var sample in summary.Samples)
                {
                    await using var insert = PostgresDatabase.Command(connection,
                        "INSERT INTO monitoring_samples (deployment, time_ticks, body) VALUES (@deployment, @time, @body)");
                    insert.Parameters.AddWithValue("deployment", sample.Deployment);
                    insert.Parameters.AddWithValue("time", sample.Time.UtcTicks);
                    insert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(sample));
                    await insert.ExecuteNonQueryAsync(token);
                }

                accepted++;
            }

            return (accepted, duplicates);
        }, cancellationToken);
    }

    /// <summary>Adds the window into its hour's row, locked so that replicas adding to one hour at once both count.</summary>
    private static async Task AddToHourAsync(NpgsqlConnection connection, TrafficWindow traffic, CancellationToken cancellationToken)
    {
        var hour = TrafficWindow.HourOf(traffic.Start);
        var fresh = traffic with { Start = hour, Duration = TimeSpan.FromHours(1) };
        await using (var insert = PostgresDatabase.Command(connection, """
            INSERT INTO monitoring_hours (deployment, model, version, hour_ticks, body) VALUES (@deployment, @model, @version, @hour, @body)
            ON CONFLICT DO NOTHING
            """))
        {
            BindHour(insert, traffic, hour);
            insert.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(fresh));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return;
            }
        }

        TrafficWindow stored;
        await using (var select = PostgresDatabase.Command(connection, """
            SELECT body FROM monitoring_hours WHERE deployment = @deployment AND model = @model AND version = @version AND hour_ticks = @hour FOR UPDATE
            """))
        {
            BindHour(select, traffic, hour);
            stored = PostgresJson.Read<TrafficWindow>((string)(await select.ExecuteScalarAsync(cancellationToken))!, "monitoring hour");
        }

        await using var update = PostgresDatabase.Command(connection, """
            UPDATE monitoring_hours SET body = @body WHERE deployment = @deployment AND model = @model AND version = @version AND hour_ticks = @hour
            """);
        BindHour(update, traffic, hour);
        update.Parameters.AddWithValue("body", NpgsqlDbType.Jsonb, PostgresJson.Write(stored.Merge(traffic) with { Start = hour, Duration = TimeSpan.FromHours(1) }));
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void BindHour(NpgsqlCommand command, TrafficWindow traffic, DateTimeOffset hour)
    {
        command.Parameters.AddWithValue("deployment", traffic.Deployment);
        command.Parameters.AddWithValue("model", traffic.Model);
        command.Parameters.AddWithValue("version", traffic.Version);
        command.Parameters.AddWithValue("hour", hour.UtcTicks);
    }

    public Task<IReadOnlyList<TrafficWindow>> ListHoursAsync(string deployment, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        database.ListBodiesAsync<TrafficWindow>("""
            SELECT body FROM monitoring_hours WHERE deployment = @deployment AND hour_ticks >= @from AND hour_ticks < @to ORDER BY hour_ticks, model, version
            """, p =>
        {
            p.AddWithValue("deployment", deployment);
            p.AddWithValue("from", from.UtcTicks);
            p.AddWithValue("to", to.UtcTicks);
        }, "monitoring hour", cancellationToken);

    public Task<IReadOnlyList<LoggedPrediction>> FindPredictionsAsync(string deployment, IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken) =>
        database.ListBodiesAsync<LoggedPrediction>("SELECT body FROM monitoring_predictions WHERE deployment = @deployment AND request_id = ANY(@ids)", p =>
        {
            p.AddWithValue("deployment", deployment);
            p.AddWithValue("ids", requestIds.Distinct(StringComparer.Ordinal).ToArray());
        }, "logged prediction", cancellationToken);

    public Task<IReadOnlyList<string>> AddLabelsAsync(string deployment, IReadOnlyList<(string RequestId, double Label)> labels, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return database.WriteAsync<IReadOnlyList<string>>(async (connection, _, token) =>
        {
            var unmatched = new List<string>();
            foreach (var (requestId, label) in labels)
            {
                await using var update = PostgresDatabase.Command(connection, """
                    UPDATE monitoring_predictions SET body = body || jsonb_build_object('Label', @label::double precision, 'LabelledAt', @at::jsonb)
                    WHERE deployment = @deployment AND request_id = @request
                    """);
                update.Parameters.AddWithValue("deployment", deployment);
                update.Parameters.AddWithValue("request", requestId);
                update.Parameters.AddWithValue("label", label);
                update.Parameters.AddWithValue("at", PostgresJson.Write(at));
                if (await update.ExecuteNonQueryAsync(token) == 0)
                {
                    unmatched.Add(requestId);
                }
            }

            return unmatched;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<LoggedPrediction>> ListPredictionsAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit,
        CancellationToken cancellationToken) =>
        database.ListBodiesAsync<LoggedPrediction>("""
            SELECT body FROM monitoring_predictions WHERE deployment = @deployment AND time_ticks >= @from AND time_ticks < @to ORDER BY time_ticks DESC LIMIT @limit
            """, p =>
        {
            p.AddWithValue("deployment", deployment);
            p.AddWithValue("from", from.UtcTicks);
            p.AddWithValue("to", to.UtcTicks);
            p.AddWithValue("limit", limit);
        }, "logged prediction", cancellationToken);

    public Task<IReadOnlyList<SampledRequest>> ListSamplesAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken) =>
        database.ListBodiesAsync<SampledRequest>("""
            SELECT body FROM monitoring_samples WHERE deployment = @deployment AND time_ticks >= @from AND time_ticks < @to ORDER BY time_ticks DESC, id DESC LIMIT @limit
            """, p =>
        {
            p.AddWithValue("deployment", deployment);
            p.AddWithValue("from", from.UtcTicks);
            p.AddWithValue("to", to.UtcTicks);
            p.AddWithValue("limit", limit);
        }, "sampled request", cancellationToken);

    public Task<long> DeleteBeforeAsync(DateTimeOffset hoursBefore, DateTimeOffset detailBefore, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            long removed = 0;
            foreach (var (sql, cutoff) in new[]
            {
                ("DELETE FROM monitoring_hours WHERE hour_ticks < @cutoff", hoursBefore),
                ("DELETE FROM monitoring_predictions WHERE time_ticks < @cutoff", detailBefore),
                ("DELETE FROM monitoring_samples WHERE time_ticks < @cutoff", detailBefore),
                ("DELETE FROM monitoring_seen WHERE at_ticks < @cutoff", detailBefore),
            })
            {
                await using var delete = PostgresDatabase.Command(connection, sql);
                delete.Parameters.AddWithValue("cutoff", cutoff.UtcTicks);
                removed += await delete.ExecuteNonQueryAsync(token);
            }

            return removed;
        }, cancellationToken);
}
