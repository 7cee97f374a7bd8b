using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Contracts.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace EdgeGreen.ControlPlane.Monitoring;

/// <summary>Agents' inference summaries: checked, binned to their versions' references and stored once each.</summary>
[Authorize(Policy = Policies.Agent)]
public sealed class MonitoringGrpcService(InferenceIngest ingest) : MonitoringService.MonitoringServiceBase
{
    public override async Task<ReportInferenceResponse> ReportInference(ReportInferenceRequest request, ServerCallContext context)
    {
        try
        {
            return await ingest.ReportAsync(context.AgentId(), request, context.CancellationToken);
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
    }
}
