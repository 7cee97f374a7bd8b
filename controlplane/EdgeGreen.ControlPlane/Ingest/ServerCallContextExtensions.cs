using System.Security.Claims;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Ingest;

internal static class ServerCallContextExtensions
{
    /// <summary>The calling agent, from its authenticated credential (never from a message field).</summary>
    public static string AgentId(this ServerCallContext context) =>
        context.GetHttpContext().User.FindFirstValue(ClaimTypes.NameIdentifier)
        ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "An agent credential is required."));
}
