using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace EdgeGreen.ControlPlane.Tests;

public sealed class IngestSecurityAndValidationTests : ControlPlaneTest
{
    [Fact]
    public async Task Upload_AgentConnectionDropsMidStream_EndsQuietlyKeepingWhatWasCommitted()
    {
        var agent = await RawAgent.EnrolAsync(ControlPlane, "dropping");
        var call = agent.Telemetry.Upload(agent.Headers);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.WriteAsync(RawAgent.Batch(RawAgent.Valid(1), RawAgent.Valid(2)));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var streams = ControlPlane.Service<EdgeGreen.ControlPlane.Ingest.IngestMetrics>().OpenStreams;

        // The agent's connection goes away without ending the call; the test host fails on any logged error.
        agent.Dispose();

        await Eventually.WaitUntilAsync(() => streams.Value == 0, TimeSpan.FromSeconds(20), "the server ends the dropped stream");
        Assert.Equal(2, await ControlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.AgentId, CancellationToken.None));
    }

    protected override IReadOnlyDictionary<string, string?> Settings { get; } =
        new Dictionary<string, string?> { ["EdgeGreen:Ingest:MaxMessageBytes"] = "65536" };

    public static TheoryData<string?> BadCredentials => new() { null, "egc_not-a-real-credential", "" };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task Upload_MissingOrInvalidCredential_UnauthenticatedAndNothingStored(string? credential)
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var headers = credential is null ? [] : new Metadata { { "authorization", $"Bearer {credential}" } };

        var error = await Assert.ThrowsAsync<RpcException>(() => agent.SendAsync(RawAgent.Batch(RawAgent.Valid(1)), headers));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        await AssertNothingStoredAsync(agent.AgentId);
    }

    [Fact]
    public async Task Heartbeat_WithoutCredential_Unauthenticated()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await agent.Agents.HeartbeatAsync(new HeartbeatRequest { State = new AgentState() }));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task Register_TokenUsedTwice_SecondUseUnauthenticated()
    {
        using var channel = GrpcChannel.ForAddress(ControlPlane.GrpcUrl);
        var client = new AgentService.AgentServiceClient(channel);
        var token = await ControlPlane.MintEnrollmentTokenAsync();
        await client.RegisterAsync(new RegisterRequest { EnrollmentToken = token, Name = "first" });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RegisterAsync(new RegisterRequest { EnrollmentToken = token, Name = "second" }));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Single(await ControlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None));
    }

    public static TheoryData<string> MalformedReadings => new()
    {
        "nan-energy", "negative-energy", "ten-years-ahead", "zero-interval", "sequence-not-increasing", "no-domain",
        "nul-in-domain", "control-in-sensor-id", "sequence-over-2^53",
    };

    [Theory]
    [MemberData(nameof(MalformedReadings))]
    public async Task Upload_MalformedBatch_InvalidArgumentNothingStoredServerStillHealthy(string defect)
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var bad = RawAgent.Valid(2);
        switch (defect)
        {
            case "nan-energy": bad.EnergyJoules = double.NaN; break;
            case "negative-energy": bad.EnergyJoules = -1; break;
            case "ten-years-ahead": bad.Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(10)); break;
            case "zero-interval": bad.Interval = new Duration(); break;
            case "sequence-not-increasing": bad.Sequence = 1; break;
            case "no-domain": bad.Domain = ""; break;
            case "nul-in-domain": bad.Domain = "cpu\0package"; break;
            case "control-in-sensor-id": bad.SensorId = "raw\u0085"; break;
            case "sequence-over-2^53": bad.Sequence = (1UL << 53) + 1; break;
        }

        // The good reading before the bad one must not be stored either: a batch is all or nothing.
        var error = await Assert.ThrowsAsync<RpcException>(() => agent.SendAsync(RawAgent.Batch(RawAgent.Valid(1), bad)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Reading 1", error.Status.Detail, StringComparison.Ordinal);
        await AssertNothingStoredAsync(agent.AgentId);
        await AssertStillHealthyAsync(agent);
    }

    [Theory]
    [InlineData(1UL << 62, false)]
    [InlineData((1UL << 40) + 2, false)]
    [InlineData((1UL << 40) + 1, true)]
    [InlineData(1_000_000_000UL, true)]
    public async Task Upload_SequenceFarPastTheDurableOne_RefusedAndLaterReadingsStillStored(ulong sequence, bool accepted)
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        await agent.SendAsync(RawAgent.Batch(RawAgent.Valid(1)));
        var ahead = RawAgent.Valid(2);
        ahead.Sequence = sequence;

        if (accepted)
        {
            // A gap the agent's outbox makes when it drops readings: taken.
            Assert.Equal(sequence, (await agent.SendAsync(RawAgent.Batch(ahead))).DurableSequence);
            return;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => agent.SendAsync(RawAgent.Batch(ahead)));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("sequence", error.Status.Detail, StringComparison.Ordinal);
        var next = await agent.SendAsync(RawAgent.Batch(RawAgent.Valid(2)));
        Assert.Equal((2ul, 1u, 0u), (next.DurableSequence, next.Accepted, next.Duplicates));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("zone")]
    [InlineData("label key")]
    [InlineData("value of label")]
    public async Task Register_ControlCharacterInAField_InvalidArgumentNamingItTokenStillUsable(string field)
    {
        using var channel = GrpcChannel.ForAddress(ControlPlane.GrpcUrl);
        var client = new AgentService.AgentServiceClient(channel);
        var token = await ControlPlane.MintEnrollmentTokenAsync();
        var request = new RegisterRequest { EnrollmentToken = token, Name = "edge", Zone = "ES" };
        switch (field)
        {
            case "name": request.Name = "ed\0ge"; break;
            case "zone": request.Zone = "E\nS"; break;
            case "label key": request.Labels["si\0te"] = "lab"; break;
            case "value of label": request.Labels["site"] = "l\u001bab"; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RegisterAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await ControlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None));
        var enrolled = await client.RegisterAsync(new RegisterRequest { EnrollmentToken = token, Name = "edge", Zone = "ES" });
        Assert.False(string.IsNullOrEmpty(enrolled.AgentId));
    }

    [Theory]
    [InlineData("year-one-start")]
    [InlineData("after-year-9999-finish")]
    [InlineData("nul-in-domain")]
    public async Task Complete_ImpossibleReport_InvalidArgumentBeforeTheJobIsLookedUp(string defect)
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var report = new CompleteJobRequest
        {
            JobId = "no-such-job",
            Outcome = JobOutcome.Succeeded,
            StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-2)),
            FinishedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            EnergyJoules = 1,
        };
        switch (defect)
        {
            case "year-one-start": report.StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.MinValue); break;
            case "after-year-9999-finish": report.FinishedAt = new Timestamp { Seconds = 253_402_300_800 }; break;
            case "nul-in-domain": report.Domains.Add(new DomainEnergyReport { Domain = "cpu\0package", EnergyJoules = 1 }); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await agent.Jobs.CompleteAsync(report, agent.Headers));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Empty(ControlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Upload_MessageOverSizeLimit_ResourceExhaustedNothingStoredServerStillHealthy()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var readings = Enumerable.Range(1, 2_000).Select(i =>
        {
            var reading = RawAgent.Valid((ulong)i);
            reading.Domain = new string('d', 60);
            return reading;
        }).ToArray();

        var error = await Assert.ThrowsAsync<RpcException>(() => agent.SendAsync(RawAgent.Batch(readings)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await AssertNothingStoredAsync(agent.AgentId);
        await AssertStillHealthyAsync(agent);
    }

    [Fact]
    public async Task Upload_SameBatchTwice_StoredOnceAndAckedAsDuplicate()
    {
        using var agent = await RawAgent.EnrolAsync(ControlPlane);
        var batch = RawAgent.Batch(RawAgent.Valid(1), RawAgent.Valid(2), RawAgent.Valid(3));

        var first = await agent.SendAsync(batch);
        var second = await agent.SendAsync(batch);

        Assert.Equal((3ul, 3u, 0u), (first.DurableSequence, first.Accepted, first.Duplicates));
        Assert.Equal((3ul, 0u, 3u), (second.DurableSequence, second.Accepted, second.Duplicates));
        Assert.Equal(3, (await ReadAllAsync(agent.AgentId)).Count);
    }

    [Fact]
    public async Task GrpcHealth_ReportsServing()
    {
        using var channel = GrpcChannel.ForAddress(ControlPlane.GrpcUrl);

        var response = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());

        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    private async Task AssertNothingStoredAsync(string agentId)
    {
        Assert.Empty(await ReadAllAsync(agentId));
        Assert.Equal(0, await ControlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agentId, CancellationToken.None));
    }

    private async Task AssertStillHealthyAsync(RawAgent agent)
    {
        using var http = ControlPlane.CreateClient();
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        var ack = await agent.SendAsync(RawAgent.Batch(RawAgent.Valid(1)));
        Assert.Equal(1ul, ack.DurableSequence);
        Assert.Empty(ControlPlane.Errors.Entries);
    }

    private async Task<List<ReadingRecord>> ReadAllAsync(string agentId) =>
        await ControlPlane.Service<ITelemetryStore>().ReadReadingsAsync(agentId, null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).ToListAsync();
}
