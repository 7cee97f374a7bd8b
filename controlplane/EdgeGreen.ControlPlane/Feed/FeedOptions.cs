namespace EdgeGreen.ControlPlane.Feed;

/// <summary>Where the MQTT telemetry feed is published (<c>EdgeGreen:Feed</c>).</summary>
public sealed class FeedOptions
{
    public const string SectionName = "EdgeGreen:Feed";

    /// <summary><c>Embedded</c> (an MQTT broker inside the control plane), <c>External</c> (publish to <see cref="Url"/>) or <c>Off</c>.</summary>
    public FeedBroker Broker { get; set; } = FeedBroker.Embedded;

    /// <summary>The address the embedded broker listens on: loopback unless set (set <see cref="Username"/> before opening it wider).</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>The embedded broker's TCP port.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>The external broker, <c>mqtt://host:port</c> (or <c>mqtts://</c> for TLS).</summary>
    public string? Url { get; set; }

    /// <summary>The client id the control plane connects to an external broker with (the embedded broker has no use for it: the control plane publishes there from inside its process).</summary>
    public string ClientId { get; set; } = "edgegreen-control-plane";

    /// <summary>
    /// With <see cref="FeedBroker.External"/>, what the control plane connects with; with
    /// <see cref="FeedBroker.Embedded"/>, what every client must present (none when unset).
    /// </summary>
    public string? Username { get; set; }

    /// <summary>The password that goes with <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>Every topic starts with this; only the control plane publishes, and clients of the embedded broker may subscribe only under it.</summary>
    public string TopicPrefix { get; set; } = "edgegreen/v1";

    /// <summary>How often agents are looked at for going online or offline.</summary>
    public TimeSpan AgentInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each zone's current grid intensity is looked up and, when it changed, published.</summary>
    public TimeSpan IntensityInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The embedded broker's largest packet from a client; a larger one closes the connection before its body is read.</summary>
    public int MaxPacketSizeBytes { get; set; } = 65_536;

    /// <summary>The embedded broker's open connections at most; one more is closed at once.</summary>
    public int MaxConnections { get; set; } = 1_000;

    /// <summary>Topics with a retained message in the embedded broker at most; beyond it a message is delivered but not retained.</summary>
    public int MaxRetainedMessages { get; set; } = 50_000;

    /// <summary>The largest payload the embedded broker retains; a larger one is delivered but not retained.</summary>
    public int MaxRetainedPayloadBytes { get; set; } = 65_536;

    /// <summary>Messages held while the broker cannot take them; beyond it the oldest are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 10_000;
}

public enum FeedBroker
{
    Embedded,
    External,
    Off,
}
