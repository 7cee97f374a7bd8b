using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Server;

namespace EdgeGreen.ControlPlane.Tests.Feed;

/// <summary>The MQTT telemetry feed against real brokers: the embedded one, and an external one that starts late.</summary>
public sealed class FeedTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Embedded_ReadingsAndJobEvents_ArePublished()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port));
        await using var subscriber = await SubscriberAsync(port, "edgegreen/v1/#");
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));

        agent.Produce(50);
        await Eventually.WaitUntilAsync(() => Produced(subscriber).Count == 50, Patience, "50 produced readings on the feed");
        var agentId = agent.Connection.AgentId!;
        var readings = Produced(subscriber);
        Assert.Equal(50, readings.Select(r => r.GetProperty("sequence").GetInt64()).Distinct().Count());
        Assert.All(readings, r => Assert.Equal("measured", r.GetProperty("provenance").GetString()));
        Assert.All(subscriber.Messages.Where(m => m.Topic.EndsWith("/readings", StringComparison.Ordinal)),
            m => Assert.Equal($"edgegreen/v1/agents/{agentId}/readings", m.Topic));

        // A job's submission and its end (cancelled here, before it runs).
        using var client = controlPlane.CreateClient(controlPlane.AdminKey);
        var tomorrow = DateTimeOffset.UtcNow.AddDays(1);
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "later", kind = "burn", parameters = new { duration = "PT1M" }, earliestStart = tomorrow, deadline = tomorrow.AddHours(2),
        });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null)).StatusCode);
        await Eventually.WaitUntilAsync(() => subscriber.Messages.Any(m => m.Topic == $"edgegreen/v1/jobs/{jobId}/completed"), Patience, "the job's completion on the feed");
        var events = subscriber.Messages.Where(m => m.Topic.StartsWith($"edgegreen/v1/jobs/{jobId}/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["submitted", "completed"], events.Select(e => e.Payload.GetProperty("event").GetString()));
        Assert.Equal("pending", events[0].Payload.GetProperty("job").GetProperty("status").GetString());
        Assert.Equal("cancelled", events[1].Payload.GetProperty("job").GetProperty("status").GetString());

        // Each zone's current intensity is retained: a late subscriber has it at once.
        await using var late = await SubscriberAsync(port, "edgegreen/v1/zones/+/intensity");
        await Eventually.WaitUntilAsync(() => late.Messages.Any(m => m.Topic == "edgegreen/v1/zones/ES/intensity"), Patience, "ES's intensity, retained");
        var intensity = late.Messages.First(m => m.Topic == "edgegreen/v1/zones/ES/intensity").Payload;
        Assert.Equal("ES", intensity.GetProperty("zone").GetString());
        Assert.InRange(intensity.GetProperty("intensityGramsPerKwh").GetDouble(), 1, 2000);
        using (var current = await client.GetAsync("/api/v1/carbon/zones"))
        {
            var es = (await current.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Single(z => z.GetProperty("zone").GetString() == "ES");
            Assert.Equal(es.GetProperty("intensityGramsPerKwh").GetDouble(), intensity.GetProperty("intensityGramsPerKwh").GetDouble(), 9);
        }

        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Embedded_WithCredentials_RefusesClientsWithoutThem()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        var settings = Embedded(port);
        settings["EdgeGreen:Feed:Username"] = "viewer";
        settings["EdgeGreen:Feed:Password"] = "open-sesame";
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: settings);

        foreach (var (user, password) in new[] { ((string?)null, (string?)null), ("viewer", "wrong") })
        {
            using var stranger = new MqttClientFactory().CreateMqttClient();
            var builder = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port);
            if (user is not null)
            {
                builder = builder.WithCredentials(user, password);
            }

            Assert.False(await ConnectsAsync(stranger, builder.Build()), $"a client with user {user ?? "none"} was let in");
        }

        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithCredentials("viewer", "open-sesame").Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.Equal(2, controlPlane.Service<ControlPlane.Feed.FeedMetrics>().RefusedConnections.Value);
    }

    [Fact]
    public async Task Embedded_ClientWithTheControlPlanesClientId_MayOnlySubscribeUnderTheFeed()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port));
        var metrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        await using (var first = await SubscriberAsync(port, "edgegreen/v1/zones/ES/intensity"))
        {
            await Eventually.WaitUntilAsync(() => first.Messages.Count > 0, Patience, "ES's intensity, retained");
        }

        // The client id the control plane is known by grants nothing: no publish anywhere, no subscription outside the prefix.
        using var impostor = new MqttClientFactory().CreateMqttClient();
        await impostor.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("edgegreen-control-plane")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        var fake = new MqttApplicationMessageBuilder().WithTopic("edgegreen/v1/zones/ES/intensity").WithPayload("{\"zone\":\"ES\",\"intensityGramsPerKwh\":1}")
            .WithRetainFlag().WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build();
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await impostor.PublishAsync(fake)).ReasonCode);
        var elsewhere = new MqttApplicationMessageBuilder().WithTopic("other/topic").WithPayload("hello")
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build();
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await impostor.PublishAsync(elsewhere)).ReasonCode);
        var subscribed = await impostor.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("#").WithTopicFilter("other/#").WithTopicFilter("edgegreen/v1/#").Build());
        Assert.Equal([MqttClientSubscribeResultCode.NotAuthorized, MqttClientSubscribeResultCode.NotAuthorized, MqttClientSubscribeResultCode.GrantedQoS0],
            subscribed.Items.Select(i => i.ResultCode));

        // A later subscriber gets the control plane's intensity, not the impostor's.
        await using var late = await SubscriberAsync(port, "edgegreen/v1/zones/ES/intensity");
        await Eventually.WaitUntilAsync(() => late.Messages.Count > 0, Patience, "ES's intensity, retained");
        Assert.NotEqual(1, late.Messages[0].Payload.GetProperty("intensityGramsPerKwh").GetDouble());
        Assert.Equal(2, metrics.RefusedPublishes.Value);
        Assert.Equal(2, metrics.RefusedSubscriptions.Value);
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Embedded_PacketOverMaxPacketSize_ClosesTheConnectionBeforeReadingIt()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port, ("EdgeGreen:Feed:MaxPacketSizeBytes", "4096")));
        var metrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        await using var bystander = await SubscriberAsync(port, "edgegreen/v1/#");
        await using var sender = await SubscriberAsync(port, "edgegreen/v1/#");

        try
        {
            await sender.Client.PublishBinaryAsync("edgegreen/v1/zones/ES/intensity", new byte[8 * 1024 * 1024], retain: true);
        }
        catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException)
        {
            // The broker may close the connection while the packet is still being written (the client then cancels the write).
        }

        await Eventually.WaitUntilAsync(() => !sender.Client.IsConnected, Patience, "the sender's connection closed");
        Assert.Equal(1, metrics.LimitRefusals.WithLabels("packet_size").Value);
        Assert.Equal(0, metrics.RefusedPublishes.Value);
        Assert.True(bystander.Client.IsConnected);
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Embedded_ConnectionBeyondMaxConnections_IsRefusedUntilOneCloses()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port, ("EdgeGreen:Feed:MaxConnections", "2")));
        var metrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        var first = await SubscriberAsync(port, "edgegreen/v1/#");
        await using var second = await SubscriberAsync(port, "edgegreen/v1/#");
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithTimeout(Patience).Build();

        using (var third = new MqttClientFactory().CreateMqttClient())
        {
            Assert.False(await ConnectsAsync(third, options), "a third connection was let in");
        }

        Assert.Equal(1, metrics.LimitRefusals.WithLabels("connections").Value);
        await first.DisposeAsync();
        using var next = new MqttClientFactory().CreateMqttClient();
        await Eventually.WaitUntilAsync(() => ConnectsAsync(next, options), Patience, "a connection once one closed");
        Assert.True(second.Client.IsConnected);
    }

    [Theory]
    [InlineData("EdgeGreen:Feed:MaxRetainedMessages", "2", "retained_messages", 2)]
    [InlineData("EdgeGreen:Feed:MaxRetainedPayloadBytes", "16", "retained_payload", 1)]
    public async Task Embedded_RetainedBeyondALimit_IsNotRetained(string key, string value, string limit, int retained)
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port, (key, value)));
        var metrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        var zones = await ZonesWithIntensityAsync(controlPlane);
        Assert.True(zones >= 2, "the bundled traces have fewer than two zones");

        // The control-plane status is retained first (it is short); of the zones' intensities, what is over the limit is not.
        await Eventually.WaitUntilAsync(() => metrics.LimitRefusals.WithLabels(limit).Value == zones + 1 - retained, Patience, "the intensities over the limit");
        await using var late = await SubscriberAsync(port, "edgegreen/v1/#");

        // Retained messages come right after the subscription, before anything published later: a job's submission marks their end.
        using var client = controlPlane.CreateClient(controlPlane.AdminKey);
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new { name = "marker", kind = "burn", parameters = new { duration = "PT1M" } });
        await Eventually.WaitUntilAsync(() => late.Messages.Any(m => m.Topic.EndsWith("/submitted", StringComparison.Ordinal)), Patience, "the marker");
        Assert.Equal(retained, late.Messages.Count(m => !m.Topic.Contains("/jobs/", StringComparison.Ordinal)));
        Assert.Contains(late.Messages, m => m.Topic == "edgegreen/v1/control-plane/status");
    }

    [Theory]
    [InlineData(MQTTnet.Formatter.MqttProtocolVersion.V311)]
    [InlineData(MQTTnet.Formatter.MqttProtocolVersion.V500)]
    public async Task Embedded_ClientWithoutAClientId_IsAcceptedWithOneAssigned(MQTTnet.Formatter.MqttProtocolVersion version)
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port));
        using var client = new MqttClientFactory().CreateMqttClient();

        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("")
            .WithCleanSession().WithProtocolVersion(version).Build());

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        if (version == MQTTnet.Formatter.MqttProtocolVersion.V500)
        {
            Assert.StartsWith("auto-", result.AssignedClientIdentifier, StringComparison.Ordinal);
        }
    }

    /// <summary>The README's own command: <c>mosquitto_sub</c> connects with an empty client id and a clean session.</summary>
    [RequiresProgramFact("mosquitto_sub")]
    public async Task Embedded_MosquittoSub_ReceivesTheFeed()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port));
        using var sub = Process.Start(new ProcessStartInfo(ExternalProgram.Require("mosquitto_sub"),
            ["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "edgegreen/v1/#", "-v", "-C", "1", "-W", "20"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var timeout = new CancellationTokenSource(Patience * 2);

        var output = await sub.StandardOutput.ReadToEndAsync(timeout.Token);
        await sub.WaitForExitAsync(timeout.Token);

        Assert.True(sub.ExitCode == 0, $"mosquitto_sub exited with {sub.ExitCode}: {await sub.StandardError.ReadToEndAsync(timeout.Token)}");
        Assert.StartsWith("edgegreen/v1/", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedded_ControlPlaneStatus_OnlineWhileRunningThenOfflineOnStop()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: Embedded(port));
        await using var status = await SubscriberAsync(port, "edgegreen/v1/control-plane/status");
        await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(status).Count == 1, Patience, "the retained status");
        Assert.Equal("online", ControlPlaneStatuses(status)[0]);

        await controlPlane.DisposeAsync();

        await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(status).LastOrDefault() == "offline", Patience, "offline on a graceful stop");
    }

    [Fact]
    public async Task Embedded_AgentStatus_RetainedOnlineThenOffline()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        var settings = Embedded(port);
        settings["EdgeGreen:Feed:AgentInterval"] = "00:00:00.200";
        settings["EdgeGreen:Agents:OfflineAfter"] = "00:00:02";
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: settings);
        var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));
        string agentId;
        try
        {
            agent.Produce(1);
            await Eventually.WaitUntilAsync(() => agent.Connection.AgentId is not null, Patience, "the agent enrols");
            agentId = agent.Connection.AgentId!;
            await using var early = await SubscriberAsync(port, "edgegreen/v1/agents/+/status");
            await Eventually.WaitUntilAsync(() => Statuses(early, agentId).Contains("online"), Patience, "the agent online on the feed");
        }
        finally
        {
            await agent.DisposeAsync();
        }

        // A subscriber that arrives later finds the retained status, which turns offline when the agent falls silent.
        await using var late = await SubscriberAsync(port, "edgegreen/v1/agents/+/status");
        await Eventually.WaitUntilAsync(() => Statuses(late, agentId).LastOrDefault() == "offline", Patience, "the agent offline on the feed");
        var last = late.Messages.Last(m => m.Topic == $"edgegreen/v1/agents/{agentId}/status").Payload;
        Assert.Equal(agentId, last.GetProperty("id").GetString());
        Assert.Equal(0, last.GetProperty("powerWatts").GetDouble());
    }

    private static List<string?> Statuses(Subscriber subscriber, string agentId) =>
        [.. subscriber.Messages.Where(m => m.Topic == $"edgegreen/v1/agents/{agentId}/status").Select(m => m.Payload.GetProperty("status").GetString())];

    [Fact]
    public async Task External_BrokerUpOnlyLater_QueuedMessagesArriveOnceItIs()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Feed:Broker"] = "External",
            ["EdgeGreen:Feed:Url"] = $"mqtt://feeder:s3cret@127.0.0.1:{port}",
            ["EdgeGreen:Feed:TopicPrefix"] = "site-a/edgegreen",
        });
        Assert.Equal($"mqtt://127.0.0.1:{port} (external; topics site-a/edgegreen/#)", controlPlane.Service<ControlPlane.Feed.TelemetryFeed>().Address);
        using var client = controlPlane.CreateClient(controlPlane.AdminKey);
        var tomorrow = DateTimeOffset.UtcNow.AddDays(1);
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "queued", kind = "burn", parameters = new { duration = "PT1M" }, earliestStart = tomorrow, deadline = tomorrow.AddHours(2),
        });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var feedMetrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        await Eventually.WaitUntilAsync(() => feedMetrics.PublishFailures.Value > 0, TimeSpan.FromSeconds(20), "the feed tries the absent broker and fails");
        Assert.Equal(0, feedMetrics.Connected.Value);

        // The broker comes up; the retried publish reaches a subscriber that is there by then.
        using var broker = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder().WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointBoundIPV6Address(IPAddress.None).WithDefaultEndpointPort(port).Build());
        await broker.StartAsync();
        await using var subscriber = await SubscriberAsync(port, "site-a/edgegreen/#");
        await Eventually.WaitUntilAsync(() => subscriber.Messages.Any(m => m.Topic == $"site-a/edgegreen/jobs/{jobId}/submitted"), TimeSpan.FromSeconds(40),
            "the queued submission arrives");
        Assert.Equal(1, controlPlane.Service<ControlPlane.Feed.FeedMetrics>().Connected.Value);
        Assert.True(controlPlane.Service<ControlPlane.Feed.FeedMetrics>().PublishFailures.Value >= 1);
    }

    [Fact]
    public async Task External_BrokerNeverUp_WhatIsStillQueuedAtShutdownIsCountedDropped()
    {
        using var temp = new TempDirectory();
        var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Feed:Broker"] = "External",
            ["EdgeGreen:Feed:Url"] = $"mqtt://127.0.0.1:{LoopbackPorts.Free()}",
        });
        var metrics = controlPlane.Service<ControlPlane.Feed.FeedMetrics>();
        using (var client = controlPlane.CreateClient(controlPlane.AdminKey))
        {
            for (var i = 0; i < 3; i++)
            {
                using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new { name = $"never-{i}", kind = "burn", parameters = new { duration = "PT1M" } });
                Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
            }
        }

        var intensities = await ZonesWithIntensityAsync(controlPlane);

        // All but the one being retried wait in the queue.
        await Eventually.WaitUntilAsync(() => metrics.PublishFailures.Value >= 1 && metrics.Queued.Value == 3 + intensities - 1, Patience, "everything queued");
        await controlPlane.DisposeAsync();

        // Nothing reached a broker: the three submissions and the zones' intensities are all counted dropped.
        Assert.Equal(0, metrics.Published.WithLabels("job").Value);
        Assert.Equal(3 + intensities, metrics.Dropped.Value);
        Assert.Equal(0, metrics.Queued.Value);
    }

    [RequiresProgramFact("mosquitto")]
    public async Task External_Mosquitto_CarriesTheFeed()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var mosquitto = await Mosquitto.StartAsync(temp, port, Patience);
        await using var subscriber = await SubscriberAsync(port, "edgegreen/v1/#");
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: External(port));
        using var client = controlPlane.CreateClient(controlPlane.AdminKey);
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new { name = "via-mosquitto", kind = "burn", parameters = new { duration = "PT1M" } });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        await Eventually.WaitUntilAsync(() => subscriber.Messages.Any(m => m.Topic == $"edgegreen/v1/jobs/{jobId}/submitted"), Patience, "the submission through mosquitto");
        await Eventually.WaitUntilAsync(() => subscriber.Messages.Any(m => m.Topic == "edgegreen/v1/zones/ES/intensity"), Patience, "the intensity through mosquitto");
        Assert.Equal("via-mosquitto", subscriber.Messages.First(m => m.Topic.EndsWith("/submitted", StringComparison.Ordinal)).Payload.GetProperty("job").GetProperty("name").GetString());
        Assert.Equal("online", ControlPlaneStatuses(subscriber).LastOrDefault());
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [RequiresProgramFact("mosquitto")]
    public async Task External_Mosquitto_ConnectionLost_LastWillSaysOfflineUntilTheControlPlaneIsBack()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        await using var mosquitto = await Mosquitto.StartAsync(temp, port, Patience);
        await using var proxy = new TcpProxy(port);
        await using var status = await SubscriberAsync(port, "edgegreen/v1/control-plane/status");
        var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: External(proxy.Port));
        try
        {
            await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(status).LastOrDefault() == "online", Patience, "the control plane online");

            // The network between the control plane and the broker fails; both keep running. The next
            // message (the local agent's readings are never far off) may reconnect at once, so the
            // test follows the statuses said since the cut rather than only the latest one.
            var beforeCut = ControlPlaneStatuses(status).Count;
            proxy.Sever();
            await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(status).Skip(beforeCut).Contains("offline"), Patience,
                () => $"the broker publishing the last will (statuses: {string.Join(", ", ControlPlaneStatuses(status))}; {beforeCut} before the cut)");

            // The next message reconnects, and the control plane says online again.
            using var client = controlPlane.CreateClient(controlPlane.AdminKey);
            using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new { name = "after-the-cut", kind = "burn", parameters = new { duration = "PT1M" } });
            await Eventually.WaitUntilAsync(
                () => ControlPlaneStatuses(status).Skip(beforeCut).SkipWhile(s => s != "offline").Contains("online"),
                TimeSpan.FromSeconds(40), () => $"the control plane online again (statuses: {string.Join(", ", ControlPlaneStatuses(status))}; {beforeCut} before the cut)");
            Assert.Empty(controlPlane.Errors.Entries);
        }
        finally
        {
            await controlPlane.DisposeAsync();
        }

        // A graceful stop discards the will, so the control plane says offline itself.
        await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(status).LastOrDefault() == "offline", Patience, "offline after a graceful stop");
        await using var late = await SubscriberAsync(port, "edgegreen/v1/control-plane/status");
        await Eventually.WaitUntilAsync(() => ControlPlaneStatuses(late).Count == 1, Patience, "the retained status");
        Assert.Equal("offline", ControlPlaneStatuses(late).Single());
    }

    [Fact]
    public async Task External_WithoutAUrl_FailsToStartNamingTheSetting()
    {
        using var temp = new TempDirectory();
        await using var app = TestControlPlane.Build(temp.Path, 0, localAgent: false,
            new Dictionary<string, string?> { ["EdgeGreen:Feed:Broker"] = "External", ["EdgeGreen:Feed:Url"] = "http://127.0.0.1:1883" }, out _);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        Assert.Contains("EdgeGreen:Feed:Url", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedded_PortInUse_FailsToStartSayingWhatToChange()
    {
        using var temp = new TempDirectory();
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        await using var app = TestControlPlane.Build(temp.Path, 0, localAgent: false, Embedded(port), out _);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        Assert.Contains("EdgeGreen:Feed:Port", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An MQTT client on a loopback broker, subscribed to <paramref name="filter"/>, keeping what it receives.</summary>
    internal static async Task<Subscriber> SubscriberAsync(int port, string filter)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var subscriber = new Subscriber(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            subscriber.Received(e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString());
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"test-{Guid.NewGuid():N}").Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return subscriber;
    }

    /// <summary>Whether the broker accepts the connection (a refusal may come as an exception or as a result code).</summary>
    private static async Task<bool> ConnectsAsync(IMqttClient client, MqttClientOptions options)
    {
        try
        {
            return (await client.ConnectAsync(options)).ResultCode == MqttClientConnectResultCode.Success && client.IsConnected;
        }
        catch (MqttCommunicationException)
        {
            return false;
        }
    }

    /// <summary>Settings for a control plane whose feed runs the embedded broker on <paramref name="port"/>, with <paramref name="more"/>.</summary>
    private static Dictionary<string, string?> Embedded(int port, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["EdgeGreen:Feed:Broker"] = "Embedded",
            ["EdgeGreen:Feed:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Settings for a control plane whose feed publishes to an external broker on <paramref name="port"/>.</summary>
    private static Dictionary<string, string?> External(int port) => new()
    {
        ["EdgeGreen:Feed:Broker"] = "External",
        ["EdgeGreen:Feed:Url"] = $"mqtt://127.0.0.1:{port}",
    };

    private static async Task<int> ZonesWithIntensityAsync(TestControlPlane controlPlane)
    {
        var carbon = controlPlane.Service<ControlPlane.Core.Carbon.CarbonIntensity>();
        var zones = 0;
        foreach (var zone in await carbon.GetZonesAsync(CancellationToken.None))
        {
            zones += await carbon.GetCurrentAsync(zone, CancellationToken.None) is null ? 0 : 1;
        }

        return zones;
    }

    private static List<string?> ControlPlaneStatuses(Subscriber subscriber) =>
        [.. subscriber.Messages.Where(m => m.Topic == "edgegreen/v1/control-plane/status").Select(m => m.Payload.GetProperty("text").GetString())];

    private static List<JsonElement> Produced(Subscriber subscriber) =>
        [.. subscriber.Messages.Where(m => m.Topic.EndsWith("/readings", StringComparison.Ordinal))
            .SelectMany(m => m.Payload.GetProperty("readings").EnumerateArray())
            .Where(r => r.GetProperty("sensorId").GetString() == "test-sensor")];

    internal sealed class Subscriber(IMqttClient client) : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Topic, JsonElement Payload)> _messages = new();

        public IMqttClient Client => client;

        public IReadOnlyList<(string Topic, JsonElement Payload)> Messages => [.. _messages];

        public void Received(string topic, string payload)
        {
            try
            {
                _messages.Enqueue((topic, JsonDocument.Parse(payload).RootElement.Clone()));
            }
            catch (JsonException)
            {
                _messages.Enqueue((topic, JsonDocument.Parse(JsonSerializer.Serialize(new { text = payload })).RootElement.Clone()));
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync();
                }
            }
            catch (MqttCommunicationException)
            {
                // The broker went first; there is nothing left to say goodbye to.
            }

            client.Dispose();
        }
    }
}
