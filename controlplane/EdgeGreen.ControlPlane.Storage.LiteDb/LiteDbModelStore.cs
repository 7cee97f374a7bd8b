using System.Text.Json.Serialization;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>Models and their versions as JSON bodies, versions indexed by model name and training job.</summary>
public sealed class LiteDbModelStore : IModelStore
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private readonly LiteDbDatabase _database;

    private ILiteCollection<BodyDocument> Models => _database.Database.GetCollection<BodyDocument>("models");

    private ILiteCollection<BodyDocument> Versions => _database.Database.GetCollection<BodyDocument>("model_versions");

    public LiteDbModelStore(LiteDbDatabase database)
    {
        _database = database;
        Versions.EnsureIndex(d => d.Name);
        Versions.EnsureIndex(d => d.JobId);
    }

    public Task<(ModelVersionRecord Version, bool Created)> AddVersionAsync(string name, Func<int, ModelVersionRecord> version, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            var existing = Versions.Find(d => d.Name == name).Select(Read<ModelVersionRecord>).ToList();
            var record = version(existing.Count == 0 ? 1 : existing.Max(v => v.Version) + 1);
            if (record.Lineage.JobId is { } job && existing.FirstOrDefault(v => v.Lineage.JobId == job) is { } same)
            {
                return (same, false);
            }

            if (Models.FindById(name) is null)
            {
                Models.Insert(Document(name, new ModelRecord(name, now, new Dictionary<string, string>(), new Dictionary<string, int>())));
            }

            Versions.Insert(Document($"{name}/{record.Version}", record, name, record.Lineage.JobId));
            return (record, true);
        }));

    public Task<ModelRecord?> GetModelAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(Models.FindById(name) is { } d ? Read<ModelRecord>(d) : null);

    public Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ModelRecord>>([.. Models.FindAll().Select(Read<ModelRecord>).OrderBy(m => m.Name, StringComparer.Ordinal)]);

    public Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ModelVersionRecord>>([.. Versions.Find(d => d.Name == name).Select(Read<ModelVersionRecord>).OrderBy(v => v.Version)]);

    public Task<ModelVersionRecord?> GetVersionAsync(string name, int version, CancellationToken cancellationToken) =>
        Task.FromResult(Versions.FindById($"{name}/{version}") is { } d ? Read<ModelVersionRecord>(d) : null);

    public Task<bool> UpdateModelAsync(ModelRecord model, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ => Models.Update(Document(model.Name, model))));

    public Task<bool> UpdateVersionAsync(ModelVersionRecord version, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ => Versions.Update(Document($"{version.Name}/{version.Version}", version, version.Name, version.Lineage.JobId))));

    private static BodyDocument Document<T>(string id, T record, string? name = null, string? jobId = null) =>
        new() { Id = id, Name = name ?? id, JobId = jobId, Body = System.Text.Json.JsonSerializer.Serialize(record, Json) };

    private static T Read<T>(BodyDocument document) =>
        System.Text.Json.JsonSerializer.Deserialize<T>(document.Body, Json) ?? throw new InvalidDataException($"{document.Id} has an empty body.");

    internal sealed class BodyDocument
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public string? JobId { get; set; }

        public string Body { get; set; } = "";
    }
}
