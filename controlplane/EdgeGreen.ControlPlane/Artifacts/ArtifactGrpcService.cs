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
/// kept.
/// </summary>
[Authorize(Policy = Policies.Agent)]
public sealed class ArtifactGrpcService(ContentStore content) : ArtifactService.ArtifactServiceBase
{
    public const int ChunkBytes = 1 << 20;

    /// <summary>The largest artifact an agent may upload (4 GiB).</summary>
    public const long MaxUploadBytes = 4L << 30;

    private static readonly Lock UploadGate = new();
    private static readonly HashSet<string> Uploading = [];

    public override async Task Download(DownloadArtifactRequest request, IServerStreamWriter<ArtifactChunk> responseStream, ServerCallContext context)
    {
        CheckSha(request.Sha256);
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

    public override Task<GetUploadStatusResponse> GetUploadStatus(GetUploadStatusRequest request, ServerCallContext context)
    {
        CheckSha(request.Sha256);
        if (content.Exists(request.Sha256))
        {
            return Task.FromResult(new GetUploadStatusResponse { Received = content.Length(request.Sha256), Complete = true });
        }

        var partial = content.PartialPath(request.Sha256);
        return Task.FromResult(new GetUploadStatusResponse { Received = File.Exists(partial) ? new FileInfo(partial).Length : 0 });
    }

    public override async Task<UploadArtifactResponse> Upload(IAsyncStreamReader<UploadArtifactRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            throw Invalid("the upload is empty: the first message names sha256, size and offset.");
        }

        var head = requestStream.Current;
        CheckSha(head.Sha256);
        if (head.Size is < 0 or > MaxUploadBytes)
        {
            throw Invalid($"size must be from 0 to {MaxUploadBytes} bytes.");
        }

        if (content.Exists(head.Sha256))
        {
            return new UploadArtifactResponse { Sha256 = head.Sha256, Size = content.Length(head.Sha256) };
        }

        lock (UploadGate)
        {
            if (!Uploading.Add(head.Sha256))
            {
                throw new RpcException(new Status(StatusCode.Aborted, "Another upload of this artifact is in progress; ask for its status and resume."));
            }
        }

        try
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
        finally
        {
            lock (UploadGate)
            {
                Uploading.Remove(head.Sha256);
            }
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
