using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Cluster;

public sealed record ReplicaResponse(string Id, string? Url, string? GrpcUrl, bool Leader, bool Self, DateTimeOffset LastSeen, string Version);

public sealed record ClusterResponse(IReadOnlyList<ReplicaResponse> Replicas);

public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/cluster", GetCluster).WithName("GetCluster").RequireAuthorization(Policies.Viewer).WithTags("Cluster")
            .WithSummary("The control-plane replicas sharing this database, which one leads, and which one answered (self).");
        return routes;
    }

    public static Ok<ClusterResponse> GetCluster(ClusterMembership cluster)
    {
        var view = cluster.View;
        return TypedResults.Ok(new ClusterResponse([.. view.Replicas.Select(r => new ReplicaResponse(
            r.Id, r.HttpUrl, r.GrpcUrl, r.Id == view.LeaderId, r.Id == cluster.ReplicaId, r.LastSeen, r.Version))]));
    }
}
