using System.Security.Cryptography;
using System.Text;
using EdgeGreen.Agent.Artifacts;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Tests.Artifacts;

/// <summary>ArtifactService end to end: the agent's transfer client against the real control plane.</summary>
public sealed class ArtifactTransferTests : ControlPlaneTest
{
    private readonly TempDirectory _agentData = new();
    private readonly byte[] _content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);

    private string Sha => Convert.ToHexStringLower(SHA256.HashData(_content));

    [Fact]
    public async Task Upload_ThenDownload_AcrossChunks_VerifiedAndIdentical()
    {
        await using var agent = await StartAgentAsync();
        await LeaseJobAsync(agent.Connection.AgentId!, Sha);
        var transfer = agent.Service<ArtifactTransfer>();
        var source = Path.Combine(_agentData.Path, "model.onnx");
        await File.WriteAllBytesAsync(source, _content);

        var (sha, size) = await transfer.UploadAsync(source, CancellationToken.None);

        Assert.Equal((Sha, _content.LongLength), (sha, size));
        Assert.True(ControlPlane.Service<ContentStore>().Exists(Sha));
        var target = Path.Combine(_agentData.Path, "copy.onnx");
        await transfer.DownloadAsync(Sha, target, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(target));
        // Uploading what the control plane holds already sends nothing and succeeds.
        Assert.Equal((Sha, _content.LongLength), await transfer.UploadAsync(source, CancellationToken.None));
    }

    [Fact]
    public async Task Upload_CutOff_ResumesFromWhatTheControlPlaneHolds()
    {
        using var raw = await RawAgent.EnrolAsync(ControlPlane);
        await LeaseJobAsync(raw.AgentId);
        using (var call = raw.Artifacts.Upload(raw.Headers))
        {
            await call.RequestStream.WriteAsync(new UploadArtifactRequest { Sha256 = Sha, Size = _content.Length, Offset = 0, Data = ByteString.CopyFrom(_content, 0, 1 << 20) });
            await call.RequestStream.CompleteAsync();
            Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(async () => await call)).StatusCode);
        }

        var status = await raw.Artifacts.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = Sha }, raw.Headers);
        Assert.Equal((1L << 20, false), (status.Received, status.Complete));

        // Resuming from anywhere else is refused; from what it holds, the rest completes it.
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(() => UploadAsync(raw, Sha, 0, _content[..1000], _content.Length))).StatusCode);
        await UploadAsync(raw, Sha, 1 << 20, _content[(1 << 20)..]);

        Assert.True((await raw.Artifacts.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = Sha }, raw.Headers)).Complete);
    }

    [Fact]
    public async Task Upload_BytesThatDoNotMatchTheirHash_AreDiscarded()
    {
        using var raw = await RawAgent.EnrolAsync(ControlPlane);
        await LeaseJobAsync(raw.AgentId);
        var claimed = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));

        var error = await Assert.ThrowsAsync<RpcException>(() => UploadAsync(raw, claimed, 0, _content));

        Assert.Equal(StatusCode.DataLoss, error.StatusCode);
        Assert.False(ControlPlane.Service<ContentStore>().Exists(claimed));
        Assert.Equal(0, (await raw.Artifacts.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = claimed }, raw.Headers)).Received);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(
            async () => await raw.Artifacts.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = "not-a-hash" }, raw.Headers))).StatusCode);
    }

    [Fact]
    public async Task Download_ResumesAPartialFile_AndDiscardsCorruptOnes()
    {
        await using var agent = await StartAgentAsync();
        await LeaseJobAsync(agent.Connection.AgentId!, Sha, new string('0', 64));
        var transfer = agent.Service<ArtifactTransfer>();
        var source = Path.Combine(_agentData.Path, "source.bin");
        await File.WriteAllBytesAsync(source, _content);
        await transfer.UploadAsync(source, CancellationToken.None);

        var target = Path.Combine(_agentData.Path, "resumed.bin");
        await File.WriteAllBytesAsync(target + ".part", _content[..12345]);
        await transfer.DownloadAsync(Sha, target, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(target));
        Assert.False(File.Exists(target + ".part"));

        var corrupt = Path.Combine(_agentData.Path, "corrupt.bin");
        await File.WriteAllBytesAsync(corrupt + ".part", new byte[100]);
        await Assert.ThrowsAsync<InvalidDataException>(() => transfer.DownloadAsync(Sha, corrupt, CancellationToken.None));
        Assert.False(File.Exists(corrupt + ".part"));
        Assert.False(File.Exists(corrupt));

        var missing = await Assert.ThrowsAsync<RpcException>(() => transfer.DownloadAsync(new string('0', 64), Path.Combine(_agentData.Path, "x"), CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Transfers_OfAnAgentWithoutAJobNamingThem_AreRefused()
    {
        using var holder = await RawAgent.EnrolAsync(ControlPlane, "holder");
        using var other = await RawAgent.EnrolAsync(ControlPlane, "other");
        await LeaseJobAsync(holder.AgentId, Sha);
        await UploadAsync(holder, Sha, 0, _content);

        // Another enrolled agent neither downloads the holder's model nor uploads without a job of its own.
        using var download = other.Artifacts.Download(new DownloadArtifactRequest { Sha256 = Sha }, other.Headers);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => download.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => UploadAsync(other, Sha, 0, _content[..10], _content.Length))).StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(
            async () => await other.Artifacts.GetUploadStatusAsync(new GetUploadStatusRequest { Sha256 = Sha }, other.Headers))).StatusCode);

        // The holder downloads what its job names, and nothing else.
        using var own = holder.Artifacts.Download(new DownloadArtifactRequest { Sha256 = Sha }, holder.Headers);
        Assert.True(await own.ResponseStream.MoveNext(CancellationToken.None));
        using var unnamed = holder.Artifacts.Download(new DownloadArtifactRequest { Sha256 = new string('1', 64) }, holder.Headers);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => unnamed.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _agentData.Dispose();
    }

    /// <summary>A job running on the agent whose parameters name these artifacts, as a leased train or batch-infer job's do.</summary>
    private async Task LeaseJobAsync(string agentId, params string[] artifacts)
    {
        var now = DateTimeOffset.UtcNow;
        var parameters = artifacts.Select((sha, i) => (Key: $"artifact{i}Sha256", Sha: sha)).ToDictionary(p => p.Key, p => p.Sha);
        await ControlPlane.Service<IJobStore>().AddAsync(new JobRecord(
            Guid.NewGuid().ToString("N"), "transfer", "train", parameters, now, now, now.AddHours(2), TimeSpan.FromHours(1), EstimateSource.Submitted,
            10, EstimateSource.Submitted, new JobResources(1, 0, 0), new JobPlacement(new Dictionary<string, string>(), []), true, null, null, JobStatus.Running)
        {
            AgentId = agentId,
            Zone = "ES",
            AssignedAt = now,
            StartedAt = now,
            LeaseExpiresAt = now.AddHours(1),
            Attempts = 1,
        }, CancellationToken.None);
    }

    /// <summary>Starts an agent and waits until it watches for jobs, so that a job leased to it from now on is one it may hold.</summary>
    private async Task<TestAgent> StartAgentAsync()
    {
        var agent = await TestAgent.StartAsync(ControlPlane.GrpcUrl, await ControlPlane.MintEnrollmentTokenAsync(), Path.Combine(_agentData.Path, "agent"));
        await Eventually.WaitUntilAsync(() => agent.Connection.AgentId is { } id && ControlPlane.Service<JobDispatcher>().IsConnected(id),
            TimeSpan.FromSeconds(20), "the agent watches for jobs");
        return agent;
    }

    /// <summary>Sends <paramref name="rest"/> from <paramref name="offset"/> as an upload of <paramref name="size"/> bytes (default: offset + rest).</summary>
    private static async Task UploadAsync(RawAgent raw, string sha, long offset, byte[] rest, long? size = null)
    {
        using var call = raw.Artifacts.Upload(raw.Headers);
        try
        {
            for (var at = 0; at < rest.Length || at == 0; at += 1 << 20)
            {
                var message = new UploadArtifactRequest { Data = ByteString.CopyFrom(rest, at, Math.Min(1 << 20, rest.Length - at)) };
                if (at == 0)
                {
                    (message.Sha256, message.Size, message.Offset) = (sha, size ?? offset + rest.Length, offset);
                }

                await call.RequestStream.WriteAsync(message);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server refused mid-stream; its status is the call's.
        }

        await call;
    }
}
