using EdgeGreen.Shared.Datasets;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>Dataset versions as JSON bodies beside the fields queries use (name, version, hash).</summary>
public sealed class LiteDbDatasetStore : IDatasetStore
{
    private readonly LiteDbDatabase _database;

    private ILiteCollection<DatasetDocument> Versions => _database.Database.GetCollection<DatasetDocument>("dataset_versions");

    public LiteDbDatasetStore(LiteDbDatabase database)
    {
        _database = database;
        Versions.EnsureIndex(d => d.Name);
        Versions.EnsureIndex(d => d.Sha256);
    }

    public Task<(DatasetVersionRecord Version, bool Created)> AddVersionAsync(string name, string sha256, long sizeBytes, long rows,
        IReadOnlyList<DatasetColumn> columns, DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Write(_ =>
        {
            var existing = Versions.Find(d => d.Name == name).Select(d => d.ToRecord()).ToList();
            if (existing.FirstOrDefault(v => v.Sha256 == sha256) is { } same)
            {
                return (same, false);
            }

            var record = new DatasetVersionRecord(name, existing.Count == 0 ? 1 : existing.Max(v => v.Version) + 1, sha256, sizeBytes, rows, columns, createdAt);
            Versions.Insert(DatasetDocument.From(record));
            return (record, true);
        }));

    public Task<IReadOnlyList<DatasetVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DatasetVersionRecord>>([.. Versions.Find(d => d.Name == name).Select(d => d.ToRecord()).OrderBy(v => v.Version)]);

    public Task<IReadOnlyList<DatasetVersionRecord>> ListLatestAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DatasetVersionRecord>>([.. Versions.FindAll().Select(d => d.ToRecord())
            .GroupBy(v => v.Name).Select(g => g.MaxBy(v => v.Version)!).OrderBy(v => v.Name, StringComparer.Ordinal)]);

    public Task<DatasetVersionRecord?> FindByShaAsync(string sha256, CancellationToken cancellationToken) =>
        Task.FromResult(Versions.FindOne(d => d.Sha256 == sha256)?.ToRecord());

    internal sealed class DatasetDocument
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public string Sha256 { get; set; } = "";

        public string Body { get; set; } = "";

        public static DatasetDocument From(DatasetVersionRecord record) => new()
        {
            Id = $"{record.Name}/{record.Version}",
            Name = record.Name,
            Sha256 = record.Sha256,
            Body = System.Text.Json.JsonSerializer.Serialize(record),
        };

        public DatasetVersionRecord ToRecord() => System.Text.Json.JsonSerializer.Deserialize<DatasetVersionRecord>(Body)
            ?? throw new InvalidDataException($"Dataset version {Id} has an empty body.");
    }
}
