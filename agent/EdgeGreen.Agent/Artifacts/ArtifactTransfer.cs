using System.Security.Cryptography;
using EdgeGreen.Agent.Uplink;
using EdgeGreen.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;

namespace EdgeGreen.Agent.Artifacts;

/// <summary>
/// Fetches and sends content-addressed artifacts over <c>ArtifactService</c>: downloads resume
/// from what is already on disk and are verified against their SHA-256 before they are used;
/// uploads resume from what the control plane already holds.
/// </summary>
public sealed class ArtifactTransfer(AgentConnection connection) : Jobs.IArtifacts
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// The artifact as a verified file at <paramref name="path"/>. A partial download at
    /// <c>path.part</c> is resumed; bytes that do not hash to <paramref name="sha256"/> are deleted.
    /// </summary>
    public async Task DownloadAsync(string sha256, string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path) && await HashAsync(path, cancellationToken) == sha256)
        {
            return;
        }

        var partial = path + ".part";
        var offset = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        var client = await connection.GetArtifactClientAsync(cancellationToken);
        var headers = await connection.GetCallHeadersAsync(cancellationToken);
        using (var call = client.Download(new DownloadArtifactRequest { Sha256 = sha256, Offset = offset }, headers, cancellationToken: cancellationToken))
        await using (var file = new FileStream(partial, FileMode.Append, FileAccess.Write, FileShare.None, 81920, useAsync: true))
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                if (chunk.Offset != file.Length)
                {
                    throw new InvalidDataException($"The artifact {sha256} arrived out of order (chunk at {chunk.Offset}, have {file.Length}).");
                }

                chunk.Data.WriteTo(file);
            }
        }

        if (await HashAsync(partial, cancellationToken) != sha256)
        {
            File.Delete(partial);
            throw new InvalidDataException($"The downloaded artifact does not hash to {sha256}; it was discarded.");
        }

        File.Move(partial, path, overwrite: true);
    }

    /// <summary>Sends the file (resuming a partial upload) and returns its SHA-256 and size.</summary>
    public async Task<(string Sha256, long Size)> UploadAsync(string path, CancellationToken cancellationToken)
    {
        var sha256 = await HashAsync(path, cancellationToken);
        var size = new FileInfo(path).Length;
        var client = await connection.GetArtifactClientAsync(cancellationToken);
        var headers = await connection.GetCallHeadersAsync(cancellationToken);
        var status = await client.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = sha256 }, headers, cancellationToken: cancellationToken);
        if (status.Complete)
        {
            return (sha256, size);
        }

        await using var file = File.OpenRead(path);
        file.Position = status.Received;
        using var call = client.Upload(headers, cancellationToken: cancellationToken);
        var buffer = new byte[ChunkBytes];
        var first = true;
        int read;
        try
        {
            while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0 || first)
            {
                var message = new UploadArtifactRequest { Data = ByteString.CopyFrom(buffer, 0, read) };
                if (first)
                {
                    (message.Sha256, message.Size, message.Offset) = (sha256, size, status.Received);
                    first = false;
                }

                await call.RequestStream.WriteAsync(message, cancellationToken);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // The server ended the call while we were still sending: its answer says why.
        }

        await call;
        return (sha256, size);
    }

    public static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }
}
