using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeGreen.ControlPlane.Core.Deployments;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>Deployments as JSON bodies keyed by name, with the revision beside them for optimistic updates.</summary>
public sealed class LiteDbDeploymentStore(LiteDbDatabase database) : IDeploymentStore
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private ILiteCollection<DeploymentDocument> Deployments => database.Database.GetCollection<DeploymentDocument>("deployments");

    public Task<bool> AddAsync(DeploymentRecord deployment, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ =>
        {
            if (Deployments.FindById(deployment.Name) is not null)
            {
                return false;
            }

            Deployments.Insert(DeploymentDocument.From(deployment));
            return true;
        }));

    public Task<bool> UpdateAsync(DeploymentRecord deployment, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ =>
            Deployments.FindById(deployment.Name) is { } stored && stored.Revision == deployment.Revision - 1 && Deployments.Update(DeploymentDocument.From(deployment))));

    public Task<DeploymentRecord?> GetAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(database.Read(() => Deployments.FindById(name)?.ToRecord()));

    public Task<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult(database.Read<IReadOnlyList<DeploymentRecord>>(() =>
            [.. Deployments.FindAll().Select(d => d.ToRecord()).OrderBy(d => d.Name, StringComparer.Ordinal)]));

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ => Deployments.Delete(name)));

    internal sealed class DeploymentDocument
    {
        public string Id { get; set; } = "";

        public long Revision { get; set; }

        public string Body { get; set; } = "";

        public static DeploymentDocument From(DeploymentRecord deployment) =>
            new() { Id = deployment.Name, Revision = deployment.Revision, Body = JsonSerializer.Serialize(deployment, Json) };

        public DeploymentRecord ToRecord() => JsonSerializer.Deserialize<DeploymentRecord>(Body, Json)
            ?? throw new InvalidDataException($"Deployment {Id} has an empty body.");
    }
}
