using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Core.Webhooks;
using EdgeGreen.ControlPlane.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Webhooks;

/// <summary>Registry events POSTed to a loopback subscriber, signed, and retried when it fails.</summary>
public sealed class WebhookTests : ControlPlaneTest
{
    /// <summary>The subscribers here are loopback servers, which the default refuses.</summary>
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["EdgeGreen:Outbound:AllowedNetworks:0"] = "127.0.0.0/8",
    };

    [Fact]
    public async Task VersionReadyAndAliasMoved_AreDeliveredSigned_AfterARetry()
    {
        var received = new ConcurrentQueue<(string Event, string Signature, byte[] Body)>();
        var calls = 0;
        await using var subscriber = await StubServer.StartAsync(routes => routes.MapPost("/hook", async (HttpContext context) =>
        {
            // The first attempt fails: the delivery must be retried.
            if (Interlocked.Increment(ref calls) == 1)
            {
                return Results.StatusCode(503);
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Headers["X-EdgeGreen-Event"].ToString(), context.Request.Headers["X-EdgeGreen-Signature"].ToString(), body.ToArray()));
            return Results.Ok();
        }));
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);

        using var created = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = new Uri(subscriber.Url, "hook"), events = new[] { "model_version.ready", "alias.moved" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;

        var onnx = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        using (var upload = await admin.PostAsync("/api/v1/models/digits/versions", new ByteArrayContent(onnx)))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        await Eventually.WaitUntilAsync(() => received.Any(r => r.Event == "model_version.ready"), TimeSpan.FromSeconds(20), "the ready event arrives");
        using (var alias = await admin.PutAsJsonAsync("/api/v1/models/digits/aliases/champion", new { version = 1 }))
        {
            Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
        }

        await Eventually.WaitUntilAsync(() => received.Any(r => r.Event == "alias.moved"), TimeSpan.FromSeconds(20), "the alias event arrives");

        foreach (var (name, signature, body) in received)
        {
            Assert.Equal("sha256=" + WebhookDispatcher.Sign(secret, body), signature);
            Assert.Equal(name, JsonDocument.Parse(body).RootElement.GetProperty("event").GetString());
        }

        var moved = JsonDocument.Parse(received.Single(r => r.Event == "alias.moved").Body).RootElement.GetProperty("data");
        Assert.Equal(("digits", "champion", 1), (moved.GetProperty("model").GetString(), moved.GetProperty("alias").GetString(), moved.GetProperty("version").GetInt32()));
        Assert.True(calls >= 3);
        Assert.Equal(1, (await admin.GetFromJsonAsync<JsonElement>("/api/v1/webhooks")).GetArrayLength());
    }

    [Fact]
    public async Task Create_Secret_IsStoredEncryptedAndDeliveriesAreStillSignedWithIt()
    {
        await using var subscriber = await StartRecordingSubscriberAsync();
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);

        using var created = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = new Uri(subscriber.Server.Url, "hook"), events = new[] { "alias.moved" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;

        var stored = Assert.Single(await new LiteDbWebhookStore(ControlPlane.Service<LiteDbDatabase>()).ListAsync(CancellationToken.None));
        Assert.DoesNotContain(secret, stored.Secret, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(ControlPlane.DataDirectory, "edgegreen*.db"))
        {
            await using var bytes = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var text = new StreamReader(bytes, Encoding.Latin1);
            Assert.DoesNotContain(secret, await text.ReadToEndAsync(), StringComparison.Ordinal);
        }

        ControlPlane.Service<WebhookDispatcher>().Publish("alias.moved", new { model = "digits", alias = "champion", version = 1 });

        var (signature, body) = await subscriber.NextAsync();
        Assert.Equal("sha256=" + WebhookDispatcher.Sign(secret, body), signature);
    }

    [Fact]
    public async Task Start_SecretStoredInClearByAnEarlierVersion_IsEncryptedAndStillSignsDeliveries()
    {
        await using var subscriber = await StartRecordingSubscriberAsync();
        using var temp = new TempDirectory();
        await using (var earlier = await TestControlPlane.StartAsync(temp.Path, settings: Settings))
        {
            await new LiteDbWebhookStore(earlier.Service<LiteDbDatabase>()).AddAsync(new WebhookRecord("whk_earlier", new Uri(subscriber.Server.Url, "hook").ToString(),
                ["alias.moved"], "whsec_stored_in_clear", DateTimeOffset.UnixEpoch), CancellationToken.None);
        }

        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: Settings);

        var stored = Assert.Single(await new LiteDbWebhookStore(controlPlane.Service<LiteDbDatabase>()).ListAsync(CancellationToken.None));
        Assert.DoesNotContain("whsec_stored_in_clear", stored.Secret, StringComparison.Ordinal);
        controlPlane.Service<WebhookDispatcher>().Publish("alias.moved", new { model = "digits", alias = "champion", version = 1 });
        var (signature, body) = await subscriber.NextAsync();
        Assert.Equal("sha256=" + WebhookDispatcher.Sign("whsec_stored_in_clear", body), signature);
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Deliver_KeyRingLost_NothingIsSentUnsignedAndTheErrorSaysWhy()
    {
        await using var subscriber = await StartRecordingSubscriberAsync();
        var hook = new Uri(subscriber.Server.Url, "hook");
        using var temp = new TempDirectory();
        await using (var earlier = await TestControlPlane.StartAsync(temp.Path, settings: Settings))
        {
            using var admin = earlier.CreateClient(earlier.AdminKey);
            using var created = await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = hook, events = new[] { "alias.moved" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Directory.Delete(Path.Combine(temp.Path, "keys"), recursive: true);
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, settings: Settings);
        using var client = controlPlane.CreateClient(controlPlane.AdminKey);
        using var healthy = await client.PostAsJsonAsync("/api/v1/webhooks", new { url = hook, events = new[] { "alias.moved" } });
        var secret = (await healthy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;

        controlPlane.Service<WebhookDispatcher>().Publish("alias.moved", new { model = "digits", alias = "champion", version = 1 });

        // The unreadable webhook comes first in the list, so its delivery would have started before the healthy one's.
        var (signature, body) = await subscriber.NextAsync();
        Assert.Equal("sha256=" + WebhookDispatcher.Sign(secret, body), signature);
        Assert.Single(subscriber.Server.Requests);
        Assert.Contains(controlPlane.Errors.Entries, e => e.Contains("cannot be decrypted", StringComparison.Ordinal) && e.Contains("EdgeGreen:Security:KeyDirectory", StringComparison.Ordinal));
        controlPlane.Errors.Expect("cannot be decrypted");
    }

    [Fact]
    public async Task Create_BadUrlOrEvent_Is400_AndOnlyAdminsMayCreate()
    {
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);
        using var operatorClient = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "ftp://x", events = new[] { "alias.moved" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/h", events = new[] { "everything" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/h", events = new[] { "alias.moved" } })).StatusCode);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/v1/webhooks")).GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/v1/webhooks/whk_missing")).StatusCode);
    }

    private static async Task<RecordingSubscriber> StartRecordingSubscriberAsync()
    {
        var received = Channel.CreateUnbounded<(string Signature, byte[] Body)>();
        var server = await StubServer.StartAsync(routes => routes.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Writer.TryWrite((context.Request.Headers["X-EdgeGreen-Signature"].ToString(), body.ToArray()));
            return Results.Ok();
        }));
        return new RecordingSubscriber(server, received.Reader);
    }

    /// <summary>A subscriber that hands over each delivery's signature and body.</summary>
    private sealed record RecordingSubscriber(StubServer Server, ChannelReader<(string Signature, byte[] Body)> Received) : IAsyncDisposable
    {
        public async Task<(string Signature, byte[] Body)> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            return await Received.ReadAsync(timeout.Token);
        }

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }
}
