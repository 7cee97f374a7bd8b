using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Monitoring;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Served traffic in four collections: the ids of summaries seen (to recognise resends), one
/// document per deployment version and hour with the sums as a JSON body, predictions by
/// deployment and request id, and sampled requests.
/// </summary>
public sealed class LiteDbMonitoringStore : IMonitoringStore
{
    private static readonly JsonSerializerOptions Json = new();
    private readonly LiteDbDatabase _database;

    public LiteDbMonitoringStore(LiteDbDatabase database)
    {
        _database = database;
        Seen.EnsureIndex(s => s.AtTicks);
        Hours.EnsureIndex(h => h.Deployment);
        Hours.EnsureIndex(h => h.HourTicks);
        Predictions.EnsureIndex(p => p.TimeTicks);
        Predictions.EnsureIndex(p => p.Deployment);
        Samples.EnsureIndex(s => s.Deployment);
        Samples.EnsureIndex(s => s.TimeTicks);
    }

    private ILiteCollection<SeenDocument> Seen => _database.Database.GetCollection<SeenDocument>("monitoring_seen");

    private ILiteCollection<HourDocument> Hours => _database.Database.GetCollection<HourDocument>("monitoring_hours");

    private ILiteCollection<PredictionDocument> Predictions => _database.Database.GetCollection<PredictionDocument>("monitoring_predictions");

    private ILiteCollection<SampleDocument> Samples => _database.Database.GetCollection<SampleDocument>("monitoring_samples");

    public Task<(int Accepted, int Duplicates)> AddSummariesAsync(IReadOnlyList<InferenceSummaryRecord> summaries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        return Task.FromResult(_database.Write(_ =>
        {
            var (accepted, duplicates) = (0, 0);
            foreach (var summary in summaries)
            {
                var seenId = $"{summary.AgentId}\n{summary.Id}";
                if (Seen.FindById(seenId) is not null)
                {
                    duplicates++;
                    continue;
                }

                Seen.Insert(new SeenDocument { Id = seenId, AtTicks = summary.Traffic.Start.UtcTicks });
                var traffic = summary.Traffic;
                var hour = TrafficWindow.HourOf(traffic.Start);
                var hourId = $"{traffic.Deployment}\n{traffic.Model}\n{traffic.Version}\n{hour.UtcTicks}";
                var stored = Hours.FindById(hourId);
                var sum = stored is null ? traffic with { Start = hour, Duration = TimeSpan.FromHours(1) } : Read<TrafficWindow>(stored.Body).Merge(traffic);
                Hours.Upsert(new HourDocument { Id = hourId, Deployment = traffic.Deployment, HourTicks = hour.UtcTicks, Body = JsonSerializer.Serialize(sum with { Start = hour, Duration = TimeSpan.FromHours(1) }, Json) });
                foreach (var prediction in summary.Predictions)
                {
                    // A label sent before its prediction arrived is not kept (the caller is told the id was unmatched),
                    // but one that arrived first for a resent prediction stays.
                    var id = $"{prediction.Deployment}\n{prediction.RequestId}";
                    var labelled = Predictions.FindById(id) is { } kept && Read<LoggedPrediction>(kept.Body) is { Label: not null } earlier
                        ? prediction with { Label = earlier.Label, LabelledAt = earlier.LabelledAt }
                        : prediction;
                    Predictions.Upsert(PredictionDocument.From(id, labelled));
                }

                foreach (var sample in summary.Samples)
                {
                    Samples.Insert(new SampleDocument { Deployment = sample.Deployment, TimeTicks = sample.Time.UtcTicks, Body = JsonSerializer.Serialize(sample, Json) });
                }

                accepted++;
            }

            return (accepted, duplicates);
        }));
    }

    public Task<IReadOnlyList<TrafficWindow>> ListHoursAsync(string deployment, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<TrafficWindow>>(() =>
        {
            var (fromTicks, toTicks) = (from.UtcTicks, to.UtcTicks);
            return [.. Hours.Query().Where(h => h.Deployment == deployment && h.HourTicks >= fromTicks && h.HourTicks < toTicks).ToEnumerable()
                .Select(h => Read<TrafficWindow>(h.Body)).OrderBy(h => h.Start).ThenBy(h => h.Model, StringComparer.Ordinal).ThenBy(h => h.Version)];
        }));

    public Task<IReadOnlyList<LoggedPrediction>> FindPredictionsAsync(string deployment, IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<LoggedPrediction>>(() =>
            [.. requestIds.Distinct(StringComparer.Ordinal).Select(id => Predictions.FindById($"{deployment}\n{id}")).OfType<PredictionDocument>()
                .Select(p => Read<LoggedPrediction>(p.Body))]));

    public Task<IReadOnlyList<string>> AddLabelsAsync(string deployment, IReadOnlyList<(string RequestId, double Label)> labels, DateTimeOffset at,
        CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write<IReadOnlyList<string>>(_ =>
        {
            var unmatched = new List<string>();
            foreach (var (requestId, label) in labels)
            {
                var id = $"{deployment}\n{requestId}";
                if (Predictions.FindById(id) is not { } stored)
                {
                    unmatched.Add(requestId);
                    continue;
                }

                Predictions.Update(PredictionDocument.From(id, Read<LoggedPrediction>(stored.Body) with { Label = label, LabelledAt = at }));
            }

            return unmatched;
        }));

    public Task<IReadOnlyList<LoggedPrediction>> ListPredictionsAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit,
        CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<LoggedPrediction>>(() =>
        {
            var (fromTicks, toTicks) = (from.UtcTicks, to.UtcTicks);
            return [.. Predictions.Query().Where(p => p.Deployment == deployment && p.TimeTicks >= fromTicks && p.TimeTicks < toTicks)
                .OrderByDescending(p => p.TimeTicks).Limit(limit).ToEnumerable().Select(p => Read<LoggedPrediction>(p.Body))];
        }));

    public Task<IReadOnlyList<SampledRequest>> ListSamplesAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<SampledRequest>>(() =>
        {
            var (fromTicks, toTicks) = (from.UtcTicks, to.UtcTicks);
            return [.. Samples.Query().Where(s => s.Deployment == deployment && s.TimeTicks >= fromTicks && s.TimeTicks < toTicks)
                .OrderByDescending(s => s.TimeTicks).Limit(limit).ToEnumerable().Select(s => Read<SampledRequest>(s.Body))];
        }));

    public Task<long> DeleteBeforeAsync(DateTimeOffset hoursBefore, DateTimeOffset detailBefore, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            var (hours, detail) = (hoursBefore.UtcTicks, detailBefore.UtcTicks);
            return (long)Hours.DeleteMany(h => h.HourTicks < hours) + Predictions.DeleteMany(p => p.TimeTicks < detail)
                + Samples.DeleteMany(s => s.TimeTicks < detail) + Seen.DeleteMany(s => s.AtTicks < detail);
        }));

    private static T Read<T>(string body) =>
        JsonSerializer.Deserialize<T>(body, Json) ?? throw new InvalidDataException($"A stored {typeof(T).Name} has an empty body.");

    internal sealed class SeenDocument
    {
        public string Id { get; set; } = "";

        public long AtTicks { get; set; }
    }

    internal sealed class HourDocument
    {
        public string Id { get; set; } = "";

        public string Deployment { get; set; } = "";

        public long HourTicks { get; set; }

        public string Body { get; set; } = "";
    }

    internal sealed class PredictionDocument
    {
        public string Id { get; set; } = "";

        public string Deployment { get; set; } = "";

        public long TimeTicks { get; set; }

        public string Body { get; set; } = "";

        public static PredictionDocument From(string id, LoggedPrediction prediction) => new()
        {
            Id = id,
            Deployment = prediction.Deployment,
            TimeTicks = prediction.Time.UtcTicks,
            Body = JsonSerializer.Serialize(prediction, Json),
        };
    }

    internal sealed class SampleDocument
    {
        public ObjectId Id { get; set; } = ObjectId.Empty;

        public string Deployment { get; set; } = "";

        public long TimeTicks { get; set; }

        public string Body { get; set; } = "";
    }
}
