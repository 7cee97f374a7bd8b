using System.Net;
using System.Net.Sockets;
using MQTTnet;
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
/// MQTTnet's broker, run in the control plane's process. With <c>Username</c> (and <c>Password</c>)
/// configured a client must present them; it may then subscribe to anything, but publishing under
/// the feed's prefix is the control plane's alone, so a client's
/// publish there is refused (and counted) rather than passed to subscribers as if it were the feed.
/// </summary>
internal sealed partial class EmbeddedBroker(FeedOptions options, FeedMetrics metrics, ILogger logger) : IFeedBroker
{
    private const string Sender = "edgegreen-control-plane";
    private MqttServer? _server;

    public string Address => $"mqtt://{(options.BindAddress.Contains(':') ? $"[{options.BindAddress}]" : options.BindAddress)}:{options.Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(options.BindAddress);
        var builder = new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointPort(options.Port);
        builder = address.AddressFamily == AddressFamily.InterNetworkV6
            ? builder.WithDefaultEndpointBoundIPV6Address(address).WithDefaultEndpointBoundIPAddress(IPAddress.None)
            : builder.WithDefaultEndpointBoundIPAddress(address).WithDefaultEndpointBoundIPV6Address(IPAddress.None);
        _server = new MqttServerFactory().CreateMqttServer(builder.Build());
        if (options.Username is { } username)
        {
            // With credentials configured, a client must present them (compared in constant time).
            _server.ValidatingConnectionAsync += args =>
            {
                if (!(Same(args.UserName, username) & Same(args.Password, options.Password)))
                {
                    args.ReasonCode = MQTTnet.Protocol.MqttConnectReasonCode.BadUserNameOrPassword;
                    metrics.RefusedConnections.Inc();
                }

                return Task.CompletedTask;
            };
        }

        _server.InterceptingPublishAsync += args =>
        {
            if (args.ClientId != Sender && FeedTopics.IsUnder(args.ApplicationMessage.Topic, options.TopicPrefix))
            {
                args.ProcessPublish = false;
                metrics.RefusedPublishes.Inc();
                LogRefused(args.ClientId, args.ApplicationMessage.Topic);
            }

            return Task.CompletedTask;
        };
        try
        {
            await _server.StartAsync();
        }
        catch (SocketException ex)
        {
            throw new InvalidOperationException(
                $"The embedded MQTT broker cannot listen on {Address}: {ex.Message}. Set {FeedOptions.SectionName}:Port to a free port, " +
                $"{FeedOptions.SectionName}:Broker to External with {FeedOptions.SectionName}:Url naming the broker already there, or Broker to Off.", ex);
        }
    }

    private static bool Same(string? given, string? expected) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given ?? ""), System.Text.Encoding.UTF8.GetBytes(expected ?? ""));

    public Task PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken) =>
        _server!.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = Sender }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync(new MqttServerStopOptions());
            _server.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused MQTT client {ClientId}'s publish to {Topic}: only the control plane publishes the feed")]
    private partial void LogRefused(string clientId, string topic);
}

/// <summary>A broker the control plane connects to as a client; it reconnects when the connection drops.</summary>
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
            var builder = new MqttClientOptionsBuilder().WithConnectionUri(options.Url!).WithClientId(options.ClientId).WithCleanSession(true);
            if (options.Username is not null)
            {
                builder = builder.WithCredentials(options.Username, options.Password);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _client.ConnectAsync(builder.Build(), timeout.Token);
        }

        await _client.PublishAsync(message, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
            }
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // The broker went away first: the connection is gone either way.
        }

        _client.Dispose();
    }
}
