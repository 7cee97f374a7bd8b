using System.Text.Json;
using JsonSerializer = System.Text.Json.JsonSerializer;
using System.Text.Json.Serialization;
using EdgeGreen.ControlPlane.Core.Pipelines;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>Pipeline versions, runs and the step cache as JSON bodies beside the fields queries use.</summary>
public sealed class LiteDbPipelineStore : IPipelineStore
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };
    private readonly LiteDbDatabase _database;

    public LiteDbPipelineStore(LiteDbDatabase database)
    {
        _database = database;
        Versions.EnsureIndex(v => v.Name);
        Runs.EnsureIndex(r => r.Pipeline);
        Runs.EnsureIndex(r => r.Active);
    }

    private ILiteCollection<VersionDocument> Versions => _database.Database.GetCollection<VersionDocument>("pipeline_versions");

    private ILiteCollection<RunDocument> Runs => _database.Database.GetCollection<RunDocument>("pipeline_runs");

    private ILiteCollection<CacheDocument> Cache => _database.Database.GetCollection<CacheDocument>("pipeline_cache");

    public Task<(PipelineVersion Version, bool Created)> AddVersionAsync(string name, PipelineDefinition definition, string source, string sourceContentType,
        DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            var body = JsonSerializer.Serialize(definition, Json);
            var latest = Versions.Find(v => v.Name == name).OrderByDescending(v => v.Version).FirstOrDefault();
            if (latest is not null && latest.Definition == body)
            {
                return (latest.ToRecord(), false);
            }

            var version = new PipelineVersion(name, (latest?.Version ?? 0) + 1, definition, createdAt, source, sourceContentType);
            Versions.Insert(VersionDocument.From(version));
            return (version, true);
        }));

    public Task<IReadOnlyList<PipelineVersion>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<PipelineVersion>>(() =>
            [.. Versions.Find(v => v.Name == name).OrderBy(v => v.Version).Select(v => v.ToRecord())]));

    public Task<IReadOnlyList<PipelineVersion>> ListLatestAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<PipelineVersion>>(() =>
            [.. Versions.FindAll().GroupBy(v => v.Name).Select(g => g.MaxBy(v => v.Version)!.ToRecord()).OrderBy(v => v.Pipeline, StringComparer.Ordinal)]));

    public Task AddRunAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        _database.Write(_ => Runs.Insert(RunDocument.From(run)));
        return Task.CompletedTask;
    }

    public Task<PipelineRun?> GetRunAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read(() => Runs.FindById(id)?.ToRecord()));

    public Task<bool> UpdateRunAsync(PipelineRun run, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            var stored = Runs.FindById(run.Id);
            return stored is not null && stored.Revision == run.Revision - 1 && Runs.Update(RunDocument.From(run));
        }));

    public Task<IReadOnlyList<PipelineRun>> ListRunsAsync(string pipeline, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<PipelineRun>>(() =>
            [.. Runs.Find(r => r.Pipeline == pipeline).OrderByDescending(r => r.CreatedAtTicks).ThenByDescending(r => r.Id, StringComparer.Ordinal)
                .Take(limit).Select(r => r.ToRecord())]));

    public Task<IReadOnlyList<PipelineRun>> ListActiveRunsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<PipelineRun>>(() => [.. Runs.Find(r => r.Active).Select(r => r.ToRecord())]));

    public Task PutCacheEntryAsync(PipelineCacheEntry entry, CancellationToken cancellationToken)
    {
        _database.Write(_ => Cache.Upsert(new CacheDocument { Id = entry.Key, Body = JsonSerializer.Serialize(entry, Json) }));
        return Task.CompletedTask;
    }

    public Task<PipelineCacheEntry?> FindCacheEntryAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read(() => Cache.FindById(key) is { } document ? Read<PipelineCacheEntry>(document.Body, key) : null));

    public Task<IReadOnlyList<PipelineCacheEntry>> ListCacheEntriesAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read<IReadOnlyList<PipelineCacheEntry>>(() =>
            [.. Cache.Query().OrderBy(c => c.Id).ToEnumerable().Select(c => Read<PipelineCacheEntry>(c.Body, c.Id))]));

    private static T Read<T>(string body, string what) =>
        JsonSerializer.Deserialize<T>(body, Json) ?? throw new InvalidDataException($"The stored {typeof(T).Name} {what} has an empty body.");

    internal sealed class VersionDocument
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public int Version { get; set; }

        /// <summary>The definition alone, to tell a repeated PUT from a change.</summary>
        public string Definition { get; set; } = "";

        public string Body { get; set; } = "";

        public static VersionDocument From(PipelineVersion version) => new()
        {
            Id = $"{version.Pipeline}/{version.Version}",
            Name = version.Pipeline,
            Version = version.Version,
            Definition = JsonSerializer.Serialize(version.Definition, Json),
            Body = JsonSerializer.Serialize(version, Json),
        };

        public PipelineVersion ToRecord() => Read<PipelineVersion>(Body, Id);
    }

    internal sealed class RunDocument
    {
        public string Id { get; set; } = "";

        public string Pipeline { get; set; } = "";

        public long CreatedAtTicks { get; set; }

        public bool Active { get; set; }

        public long Revision { get; set; }

        public string Body { get; set; } = "";

        public static RunDocument From(PipelineRun run) => new()
        {
            Id = run.Id,
            Pipeline = run.Pipeline,
            CreatedAtTicks = run.CreatedAt.UtcTicks,
            Active = !run.IsFinished,
            Revision = run.Revision,
            Body = JsonSerializer.Serialize(run, Json),
        };

        public PipelineRun ToRecord() => Read<PipelineRun>(Body, Id);
    }

    internal sealed class CacheDocument
    {
        public string Id { get; set; } = "";

        public string Body { get; set; } = "";
    }
}
