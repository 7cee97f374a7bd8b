using System.Net;
using EdgeGreen.ControlPlane.Core.Storage;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Tests.Faults;

public sealed class StorageFaultTests
{
    [RequiresRootFact]
    public async Task DiskFull_AgentsAreToldResourceExhausted_ReadyzSaysWhy_AndBothRecoverWithNothingLost()
    {
        using var temp = new TempDirectory();
        using var disk = DiskFull.Mount(Path.Combine(temp.Path, "data"), megabytes: 16);
        await using var controlPlane = await TestControlPlane.StartAsync(disk.Path);
        using var agent = await RawAgent.EnrolAsync(controlPlane);
        using var http = controlPlane.CreateClient();
        Assert.Equal(9ul, (await agent.SendAsync(RawAgent.Batch([.. Enumerable.Range(1, 9).Select(i => RawAgent.Valid((ulong)i))]))).DurableSequence);

        disk.Fill();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var batch = RawAgent.Batch([.. Enumerable.Range(10, 1000).Select(i => Reading(i, start.AddSeconds(i)))]);
        var refused = await Assert.ThrowsAsync<RpcException>(() => agent.SendAsync(batch));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("full", refused.Status.Detail, StringComparison.OrdinalIgnoreCase);
        // The health check service logs the unhealthy storage check at error level: the point of the test.
        controlPlane.Errors.Expect("Health check storage with status Unhealthy");
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("storage: ", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var unreadable = await Assert.ThrowsAsync<StorageException>(() => controlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.AgentId, CancellationToken.None));
        Assert.Equal(StorageFault.Full, unreadable.Fault);

        disk.Free();
        await Eventually.WaitUntilAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode,
            TimeSpan.FromSeconds(10), "readiness returns once space is free");
        // What the refused commit left in memory is gone: the file is what counts.
        Assert.Equal(9, await controlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.AgentId, CancellationToken.None));
        Assert.Equal(1009ul, (await agent.SendAsync(batch)).DurableSequence);
        var stored = await controlPlane.Service<ITelemetryStore>().ReadReadingsAsync(agent.AgentId, null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 1009).Select(i => (long)i), stored.Select(r => r.Sequence).Order());
    }

    private static Contracts.V1.Reading Reading(int sequence, DateTimeOffset time)
    {
        var reading = RawAgent.Valid((ulong)sequence);
        reading.Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(time);
        return reading;
    }

    [Fact]
    public async Task CorruptDatabaseFile_RefusesToStart_NamingTheFileAndTheWayOut()
    {
        using var temp = new TempDirectory();
        await using (await TestControlPlane.StartAsync(temp.Path))
        {
        }

        var file = Path.Combine(temp.Path, "edgegreen.db");
        var bytes = await File.ReadAllBytesAsync(file);
        new Random(3).NextBytes(bytes.AsSpan(0, Math.Min(bytes.Length, 32 * 1024)));
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestControlPlane.StartAsync(temp.Path));

        var storage = Assert.IsType<StorageException>(error is AggregateException aggregate ? aggregate.InnerExceptions.Single() : error);
        Assert.Equal(StorageFault.Corrupt, storage.Fault);
        Assert.Contains(file, storage.Message, StringComparison.Ordinal);
        Assert.Contains("move the file aside", storage.Message, StringComparison.Ordinal);
    }
}
