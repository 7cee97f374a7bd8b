using Prometheus;

namespace EdgeGreen.ControlPlane.Feed;

public sealed class FeedMetrics(IMetricFactory factory)
{
    public Counter Published { get; } = factory.CreateCounter("edgegreen_feed_messages_published_total",
        "MQTT feed messages handed to the broker, by kind (readings, job, agent, intensity).", ["kind"]);

    public Counter Dropped { get; } = factory.CreateCounter("edgegreen_feed_messages_dropped_total",
        "MQTT feed messages dropped: the oldest when the queue was full while the broker could not take them, and those still queued at shutdown.");

    public Counter PublishFailures { get; } = factory.CreateCounter("edgegreen_feed_publish_failures_total",
        "Attempts to hand a message to the broker that failed (an external broker down or unreachable); the message is retried.");

    public Counter RefusedPublishes { get; } = factory.CreateCounter("edgegreen_feed_client_publishes_refused_total",
        "Publishes by MQTT clients that the embedded broker refused: only the control plane publishes, from inside its process.");

    public Counter RefusedSubscriptions { get; } = factory.CreateCounter("edgegreen_feed_client_subscriptions_refused_total",
        "Subscriptions by MQTT clients to topic filters outside the feed's prefix that the embedded broker refused.");

    public Counter LimitRefusals { get; } = factory.CreateCounter("edgegreen_feed_limit_refusals_total",
        "What the embedded broker refused for a limit: connections beyond MaxConnections, packets over MaxPacketSizeBytes (the connection is closed), " +
        "retained messages beyond MaxRetainedMessages or over MaxRetainedPayloadBytes (delivered, not retained).", ["limit"]);

    public Counter RefusedConnections { get; } = factory.CreateCounter("edgegreen_feed_client_connections_refused_total",
        "MQTT clients the embedded broker refused for a wrong or missing user name or password.");

    public Gauge Queued { get; } = factory.CreateGauge("edgegreen_feed_messages_queued",
        "MQTT feed messages waiting for the broker.");

    public Gauge Connected { get; } = factory.CreateGauge("edgegreen_feed_broker_connected",
        "1 while the feed can publish (the embedded broker runs, or the external broker is connected), else 0.");
}
