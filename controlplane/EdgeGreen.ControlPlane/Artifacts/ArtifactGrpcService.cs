using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace EdgeGreen.ControlPlane.Artifacts;

/// <summary>
/// Chunked, resumable transfer of content-addressed artifacts between the control plane's
/// <see cref="ContentStore"/> and agents; every upload is verified against its SHA-256 before it is
/// kept. An agent downloads only what a job leased to it names (its dataset, its model) or a
/// deployment it is a target of serves, and uploads
/// only while it runs a job; unfinished uploads are bounded and expire (<see cref="ArtifactUploads"/>).
/// </summary>
[Authorize(Policy = Policies.Agent)]
public sealed class ArtifactGrpcService(ContentStore content, ArtifactUploads uploads, IJobStore jobs, Core.Deployments.DeploymentCatalog deployments)
    : ArtifactService.ArtifactServiceBase
{
    public const int ChunkBytes = 1 << 20;

    /// <summary>The largest artifact an agent may upload (4 GiB).</summary>
    public const long MaxUploadBytes = 4L << 30;

    public override async Task Download(DownloadArtifactRequest request, IServerStreamWriter<ArtifactChunk> responseStream, ServerCallContext context)
    {
        CheckSha(request.Sha256);
        var leased = await LeasedJobsAsync(context);
        if (!leased.Any(job => job.Parameters.Values.Contains(request.Sha256, StringComparer.Ordinal))
            && !await deployments.MayDownloadAsync(context.AgentId(), request.Sha256, context.CancellationToken))
        {
            // The same answer whether or not the artifact exists: an agent learns nothing of others' content.
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"No job leased to this agent and no deployment it serves names the artifact {request.Sha256}."));
        }

        await using var file = content.OpenRead(request.Sha256)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No artifact has sha256 {request.Sha256}."));
        if (request.Offset < 0 || request.Offset > file.Length)
        {
            throw Invalid($"offset must be from 0 to the size, {file.Length}.");
        }

        file.Position = request.Offset;
        var buffer = new byte[ChunkBytes];
        var offset = request.Offset;
        var first = true;
        int read;
        while ((read = await file.ReadAsync(buffer, context.CancellationToken)) > 0 || first)
        {
            await responseStream.WriteAsync(new ArtifactChunk { Size = first ? file.Length : 0, Offset = offset, Data = ByteString.CopyFrom(buffer, 0, read) },
                context.CancellationToken);
            offset += read;
            first = false;
        }
    }

    public override async Task<GetUploadStatusResponse> GetUploadStatus(GetUploadStatusRequest request, ServerCallContext context)
    {
        CheckSha(request.Sha256);
        await RequireRunningJobAsync(context);
        if (content.Exists(request.Sha256))
        {
            return new GetUploadStatusResponse { Received = content.Length(request.Sha256), Complete = true };
        }

        var partial = content.PartialPath(request.Sha256);
        return new GetUploadStatusResponse { Received = File.Exists(partial) ? new FileInfo(partial).Length : 0 };
    }

    public override async Task<UploadArtifactResponse> Upload(IAsyncStreamReader<UploadArtifactRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            throw Invalid("the upload is empty: the first message names sha256, size and offset.");
        }

        var head = requestStream.Current;
        CheckSha(head.Sha256);
        await RequireRunningJobAsync(context);
        if (head.Size is < 0 or > MaxUploadBytes)
        {
            throw Invalid($"size must be from 0 to {MaxUploadBytes} bytes.");
        }

        if (content.Exists(head.Sha256))
        {
            return new UploadArtifactResponse { Sha256 = head.Sha256, Size = content.Length(head.Sha256) };
        }

        IDisposable claim;
        try
        {
            claim = uploads.Begin(head.Sha256, head.Size);
        }
        catch (UploadRefusedException refused)
        {
            throw new RpcException(new Status(refused.Quota ? StatusCode.ResourceExhausted : StatusCode.Aborted, refused.Message));
        }

        using (claim)
        {
            var partial = content.PartialPath(head.Sha256);
            var held = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (head.Offset != held)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"The control plane holds {held} bytes of this artifact; resume from there."));
            }

            await using (var file = new FileStream(partial, PrivateFile.Options(FileMode.Append, FileOptions.Asynchronous)))
            {
                var message = head;
                while (true)
                {
                    if (message.Data.Length > ChunkBytes || file.Length + message.Data.Length > head.Size)
                    {
                        throw Invalid($"chunks are at most {ChunkBytes} bytes and may not go past the size, {head.Size}.");
                    }

                    message.Data.WriteTo(file);
                    if (!await requestStream.MoveNext(context.CancellationToken))
                    {
                        break;
                    }

                    message = requestStream.Current;
                }

                await file.FlushAsync(context.CancellationToken);
                if (file.Length < head.Size)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"The upload ended at {file.Length} of {head.Size} bytes; resume from there."));
                }
            }

            if (!await content.CompletePartialAsync(head.Sha256, context.CancellationToken))
            {
                throw new RpcException(new Status(StatusCode.DataLoss, "The bytes do not have the SHA-256 the upload named; they were discarded."));
            }

            return new UploadArtifactResponse { Sha256 = head.Sha256, Size = head.Size };
        }
    }

    private async Task<IEnumerable<JobRecord>> LeasedJobsAsync(ServerCallContext context)
    {
        var agentId = context.AgentId();
        return (await jobs.ListActiveAsync(context.CancellationToken)).Where(job => job.Status == JobStatus.Running && job.AgentId == agentId);
    }

    private async Task RequireRunningJobAsync(ServerCallContext context)
    {
        if (!(await LeasedJobsAsync(context)).Any())
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "Artifacts are uploaded only by an agent running a job."));
        }
    }

    private static void CheckSha(string sha256)
    {
        if (!ContentStore.IsSha256(sha256))
        {
            throw Invalid("sha256 must be 64 lower-case hex digits.");
        }
    }

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));
}
