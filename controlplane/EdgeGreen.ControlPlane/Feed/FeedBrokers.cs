using System.Buffers;
using System.Collections;
using System.Collections.Concurrent;
using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>Where feed messages go: a broker inside the control plane, or one outside it.</summary>
internal interface IFeedBroker : IAsyncDisposable
{
    /// <summary>Where subscribers connect, for the start-up banner.</summary>
    string Address { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Hands one message to the broker; throws when it cannot take it now.</summary>
    Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// MQTTnet's broker, run in the control plane's process behind <see cref="FeedListener"/>'s limits.
/// The control plane publishes into it from inside the process: a message counts as the feed's
/// only when it carries the session items this instance gave it, which no network client can
/// present, whatever client id or user name it connects with. Network clients may only subscribe,
/// and only to filters under the feed's prefix; anything else is refused, counted, and logged once
/// per client. With <c>Username</c> (and <c>Password</c>) configured a client must present them.
/// </summary>
internal sealed partial class EmbeddedBroker(FeedOptions options, FeedMetrics metrics, ILogger logger) : IFeedBroker
{
    private const string Sender = "edgegreen-control-plane";
    private static readonly object RefusalLogged = new();
    private readonly Hashtable _own = new();
    private readonly ConcurrentDictionary<string, byte> _owedOffline = new(StringComparer.Ordinal);
    private volatile bool _stopping;
    private readonly HashSet<string> _retained = new(StringComparer.Ordinal);
    private readonly Lock _retainedLock = new();
    private int _retainedLimitLogged;
    private MqttServer? _server;

    public string Address => $"mqtt://{(options.BindAddress.Contains(':') ? $"[{options.BindAddress}]" : options.BindAddress)}:{options.Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder().Build(), [new FeedListener(options, metrics, logger)]);
        server.ValidatingConnectionAsync += ValidateConnection;
        server.InterceptingPublishAsync += args =>
        {
            if (!ReferenceEquals(args.SessionItems, _own))
            {
                args.ProcessPublish = false;
                args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
                metrics.RefusedPublishes.Inc();
                if (FirstRefusal(args.SessionItems))
                {
                    LogRefusedPublish(args.ClientId, args.ApplicationMessage.Topic);
                }
            }

            return Task.CompletedTask;
        };
        server.InterceptingSubscriptionAsync += args =>
        {
            if (!FeedTopics.IsUnder(args.TopicFilter.Topic, options.TopicPrefix))
            {
                args.ProcessSubscription = false;
                args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
                metrics.RefusedSubscriptions.Inc();
                if (FirstRefusal(args.SessionItems))
                {
                    LogRefusedSubscription(args.ClientId, args.TopicFilter.Topic, options.TopicPrefix);
                }
            }

            return Task.CompletedTask;
        };
        // At a graceful stop, the clients the offline status was queued for are waited for (briefly) until they acknowledge it.
        var status = FeedTopics.ControlPlaneStatus(options.TopicPrefix);
        server.InterceptingClientEnqueueAsync += args =>
        {
            if (_stopping && args.ApplicationMessage.Topic == status)
            {
                _owedOffline.TryAdd(args.ReceiverClientId, 0);
            }

            return Task.CompletedTask;
        };
        server.ClientAcknowledgedPublishPacketAsync += args =>
        {
            if (args.PublishPacket.Topic == status)
            {
                _owedOffline.TryRemove(args.ClientId, out _);
            }

            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += args =>
        {
            _owedOffline.TryRemove(args.ClientId, out _);
            return Task.CompletedTask;
        };
        try
        {
            await server.StartAsync();
        }
        catch (SocketException ex)
        {
            server.Dispose();
            throw new InvalidOperationException(
                $"The embedded MQTT broker cannot listen on {Address}: {ex.Message}. Set {FeedOptions.SectionName}:Port to a free port, " +
                $"{FeedOptions.SectionName}:Broker to External with {FeedOptions.SectionName}:Url naming the broker already there, or Broker to Off.", ex);
        }

        _server = server;
        await PublishAsync(ControlPlaneStatus.Message(options.TopicPrefix, online: true), cancellationToken);
    }

    private Task ValidateConnection(ValidatingConnectionEventArgs args)
    {
        if (options.Username is { } username && !(Same(args.UserName, username) & Same(args.Password, options.Password)))
        {
            // With credentials configured, a client must present them (compared in constant time).
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            metrics.RefusedConnections.Inc();
        }
        else if (string.IsNullOrEmpty(args.ClientId))
        {
            // MQTT 5: the id goes back in the CONNACK (MQTT 3.1.1 clients get theirs in FeedListener).
            args.AssignedClientIdentifier = FeedListener.AssignedClientId();
        }

        return Task.CompletedTask;
    }

    private static bool Same(string? given, string? expected) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given ?? ""), System.Text.Encoding.UTF8.GetBytes(expected ?? ""));

    /// <summary>Whether this is the client's first refusal (its session remembers), so that a client that keeps trying is logged once.</summary>
    private static bool FirstRefusal(IDictionary? sessionItems)
    {
        if (sessionItems is null || sessionItems.Contains(RefusalLogged))
        {
            return sessionItems is null;
        }

        sessionItems[RefusalLogged] = true;
        return true;
    }

    public async Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        if (message.Retain && !Retains(message))
        {
            message.Retain = false;
        }

        await _server!.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = Sender, CustomSessionItems = _own }, cancellationToken);
    }

    /// <summary>Whether a retained message stays within the retained limits (an empty one clears its topic, which always may).</summary>
    private bool Retains(MqttApplicationMessage message)
    {
        string limit;
        lock (_retainedLock)
        {
            var size = message.Payload.Length;
            if (size == 0 || (size <= options.MaxRetainedPayloadBytes && (_retained.Contains(message.Topic) || _retained.Count < options.MaxRetainedMessages)))
            {
                _ = size == 0 ? _retained.Remove(message.Topic) : _retained.Add(message.Topic);
                return true;
            }

            limit = size > options.MaxRetainedPayloadBytes ? "retained_payload" : "retained_messages";
        }

        metrics.LimitRefusals.WithLabels(limit).Inc();
        if (Interlocked.Exchange(ref _retainedLimitLogged, 1) == 0)
        {
            LogNotRetained(message.Topic, options.MaxRetainedMessages, options.MaxRetainedPayloadBytes);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            // Subscribers still connected hear that the feed stops (the retained messages go with the broker).
            _stopping = true;
            await PublishAsync(ControlPlaneStatus.Message(options.TopicPrefix, online: false), CancellationToken.None);
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            while (!_owedOffline.IsEmpty && !patience.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
            }

            await _server.StopAsync(new MqttServerStopOptions());
            _server.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused MQTT client {ClientId}'s publish to {Topic}: only the control plane publishes the feed (further refusals of this client are counted, not logged)")]
    private partial void LogRefusedPublish(string clientId, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused MQTT client {ClientId}'s subscription to {Filter}: clients may subscribe only under {Prefix}/ (further refusals of this client are counted, not logged)")]
    private partial void LogRefusedSubscription(string clientId, string filter, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The embedded MQTT broker delivers {Topic} without retaining it: over EdgeGreen:Feed:MaxRetainedMessages ({MaxMessages}) or MaxRetainedPayloadBytes ({MaxBytes}); further ones are counted, not logged")]
    private partial void LogNotRetained(string topic, int maxMessages, int maxBytes);
}

/// <summary>
/// <c>{prefix}/control-plane/status</c>, retained: <c>online</c> while the control plane publishes
/// the feed, <c>offline</c> once it stopped (or, with an external broker, lost its connection: the
/// broker publishes the control plane's last will).
/// </summary>
internal static class ControlPlaneStatus
{
    public static MqttApplicationMessage Message(string prefix, bool online) => new MqttApplicationMessageBuilder()
        .WithTopic(FeedTopics.ControlPlaneStatus(prefix))
        .WithPayload(online ? "online" : "offline")
        .WithContentType("text/plain")
        .WithRetainFlag()
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .Build();
}

/// <summary>
/// A broker the control plane connects to as a client; it reconnects, at the next message, when the
/// connection drops. Its last will turns the control-plane status <c>offline</c> when the connection
/// is lost without a goodbye.
/// </summary>
internal sealed class ExternalBroker(FeedOptions options) : IFeedBroker
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    /// <summary>The broker's URL without any user or password written into it (those are never shown).</summary>
    public string Address => new UriBuilder(options.Url!) { UserName = "", Password = "" }.Uri.ToString().TrimEnd('/');

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            var offline = ControlPlaneStatus.Message(options.TopicPrefix, online: false);
            var builder = new MqttClientOptionsBuilder().WithConnectionUri(options.Url!).WithClientId(options.ClientId).WithCleanSession(true)
                .WithWillTopic(offline.Topic).WithWillPayload(offline.Payload.ToArray()).WithWillContentType(offline.ContentType)
                .WithWillRetain().WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (options.Username is not null)
            {
                builder = builder.WithCredentials(options.Username, options.Password);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _client.ConnectAsync(builder.Build(), timeout.Token);

            // Each connection says online again: the broker published the will when the last one dropped.
            await _client.PublishAsync(ControlPlaneStatus.Message(options.TopicPrefix, online: true), cancellationToken);
        }

        await _client.PublishAsync(message, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                // A normal disconnect discards the will, so the control plane says offline itself.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.PublishAsync(ControlPlaneStatus.Message(options.TopicPrefix, online: false), timeout.Token);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
        {
            // The broker went away first (its will says offline): the connection is gone either way.
        }

        _client.Dispose();
    }
}
