using System.Text.Json;
using System.Threading.Channels;
using EdgeGreen.ControlPlane.Dashboard;
using EdgeGreen.ControlPlane.Jobs;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// The MQTT telemetry feed: every reading the control plane newly stores, per agent, every job's
/// submission and completion, each agent's status and each zone's current grid intensity (both
/// retained), as JSON (the REST API's names and units) at QoS 1 on
/// <see cref="FeedTopics"/>' topics. Publishing never holds up ingest or the scheduler: messages
/// wait in a bounded queue while the broker cannot take them (the external broker is retried with
/// backoff up to 30 s); when the queue is full the oldest are dropped and counted, and so is what is
/// still queued when the control plane stops.
/// </summary>
public sealed partial class TelemetryFeed : BackgroundService
{
    private readonly FeedOptions _options;
    private readonly FeedMetrics _metrics;
    private readonly JsonSerializerOptions _json;
    private readonly ILogger<TelemetryFeed> _logger;
    private readonly IFeedBroker? _broker;
    private readonly Channel<(string Kind, MqttApplicationMessage Message)> _queue;
    private readonly LiveEvents _live;

    public TelemetryFeed(IOptions<FeedOptions> options, FeedMetrics metrics, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, LiveEvents live,
        ILogger<TelemetryFeed> logger)
    {
        _live = live;
        _options = options.Value;
        _metrics = metrics;
        _json = json.Value.SerializerOptions;
        _logger = logger;
        _broker = _options.Broker switch
        {
            FeedBroker.Embedded => new EmbeddedBroker(_options, metrics, logger),
            FeedBroker.External => new ExternalBroker(_options),
            _ => null,
        };
        _queue = Channel.CreateBounded<(string, MqttApplicationMessage)>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => metrics.Dropped.Inc());
    }

    /// <summary>Whether the feed publishes at all (a broker is configured).</summary>
    public bool Enabled => _broker is not null;

    /// <summary>Where subscribers connect, and how; null when the feed is off.</summary>
    public string? Address => _broker is null ? null : $"{_broker.Address} ({_options.Broker.ToString().ToLowerInvariant()}; topics {_options.TopicPrefix}/#)";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_broker is not null)
        {
            await _broker.StartAsync(cancellationToken);
            _metrics.Connected.Set(_broker is EmbeddedBroker ? 1 : 0);
            LogStarted(_broker.Address, _options.TopicPrefix);
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        // What the broker never took is counted as dropped, not lost silently.
        _queue.Writer.TryComplete();
        var left = 0;
        while (_queue.Reader.TryRead(out _))
        {
            left++;
        }

        _metrics.Dropped.Inc(left);
        _metrics.Queued.Set(0);
    }

    /// <summary>Readings an agent sent that were stored now (not resends of stored ones).</summary>
    public void PublishReadings(string agentId, IReadOnlyList<ReadingRecord> readings)
    {
        if (readings.Count > 0)
        {
            _live.Publish(LiveTopic.Readings, agentId);
        }

        if (_broker is null || readings.Count == 0)
        {
            return;
        }

        var payload = new ReadingsMessage(agentId, [.. readings.Select(r => new ReadingMessage(r.Sequence, r.Time, r.Interval.TotalSeconds, r.SensorId, r.Domain,
            r.EnergyJoules, r.PowerWatts, r.Provenance))]);
        Enqueue("readings", FeedTopics.Readings(_options.TopicPrefix, agentId), payload);
    }

    /// <summary>A job event (<c>submitted</c>, <c>completed</c>) with the job as <c>GET /api/v1/jobs/{id}</c> shows it.</summary>
    public void PublishJob(string @event, JobRecord job)
    {
        _live.Publish(LiveTopic.Jobs);
        if (_broker is not null)
        {
            Enqueue("job", FeedTopics.Job(_options.TopicPrefix, job.Id, @event), new JobMessage(@event, JobResponse.From(job)));
        }
    }

    /// <summary>A deployment's event (created, rollout-started, step, promoted, rolled-back, …) as its history holds it.</summary>
    public void PublishDeployment(string deployment, Core.Deployments.DeploymentEvent happened)
    {
        _live.Publish(LiveTopic.Deployments);
        if (_broker is not null)
        {
            Enqueue("deployment", FeedTopics.Deployment(_options.TopicPrefix, deployment), new DeploymentMessage(deployment, happened));
        }
    }

    /// <summary>An agent as the REST API shows it, retained so that a new subscriber knows the fleet at once.</summary>
    public void PublishAgent(Api.AgentResponse agent)
    {
        _live.Publish(LiveTopic.Agents, agent.Id);
        if (_broker is not null)
        {
            Enqueue("agent", FeedTopics.AgentStatus(_options.TopicPrefix, agent.Id), agent, retain: true);
        }
    }

    /// <summary>A zone's current grid intensity, retained so that a new subscriber has it at once.</summary>
    public void PublishIntensity(string zone, IntensityPoint point)
    {
        if (_broker is not null)
        {
            Enqueue("intensity", FeedTopics.Intensity(_options.TopicPrefix, zone),
                new IntensityMessage(zone, point.Time, point.Duration.TotalSeconds, point.IntensityGramsPerKwh), retain: true);
        }
    }

    /// <summary>An alert that fired or resolved, on a topic its rule names under the prefix; false when the feed is off.</summary>
    public bool PublishAlert(string topic, Core.Alerts.AlertMessage alert)
    {
        if (_broker is null)
        {
            return false;
        }

        Enqueue("alert", FeedTopics.Alert(_options.TopicPrefix, topic), alert);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_broker is null)
        {
            return;
        }

        await foreach (var (kind, message) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            _metrics.Queued.Set(_queue.Reader.Count);
            try
            {
                await PublishWithRetriesAsync(kind, message, stoppingToken);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // The message being published or retried at shutdown is dropped like those still
                // queued. MQTTnet reports a publish cancelled while awaiting its acknowledgement as a
                // timeout, not a cancellation, so any failure after the stop is this case.
                _metrics.Dropped.Inc();
                return;
            }
        }
    }

    private async Task PublishWithRetriesAsync(string kind, MqttApplicationMessage message, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await _broker!.PublishAsync(message, stoppingToken);
                _metrics.Published.WithLabels(kind).Inc();
                _metrics.Connected.Set(1);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                _metrics.Connected.Set(0);
                _metrics.PublishFailures.Inc();
                LogPublishFailed(_broker!.Address, backoff.TotalSeconds, ex.Message);
                await Task.Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, 30));
            }
        }
    }

    private void Enqueue<T>(string kind, string topic, T payload, bool retain = false)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithRetainFlag(retain)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(payload, _json))
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        if (!_queue.Writer.TryWrite((kind, message)))
        {
            // Only after shutdown: the queue itself drops its oldest instead of refusing.
            _metrics.Dropped.Inc();
        }

        _metrics.Queued.Set(_queue.Reader.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT feed on {Address}, topics {Prefix}/#")]
    private partial void LogStarted(string address, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The MQTT feed could not publish to {Address}; retrying in {Seconds} s: {Reason}")]
    private partial void LogPublishFailed(string address, double seconds, string reason);
}

/// <summary>Payload of <c>{prefix}/agents/{agentId}/readings</c>.</summary>
public sealed record ReadingsMessage(string AgentId, IReadOnlyList<ReadingMessage> Readings);

/// <summary>One reading: the interval ending at <c>Time</c>, its energy and average power.</summary>
public sealed record ReadingMessage(long Sequence, DateTimeOffset Time, double IntervalSeconds, string SensorId, string Domain,
    double EnergyJoules, double PowerWatts, ReadingProvenance Provenance);

/// <summary>Payload of <c>{prefix}/zones/{zone}/intensity</c>: the latest observed hour (or the interval the source reports).</summary>
public sealed record IntensityMessage(string Zone, DateTimeOffset Time, double DurationSeconds, double IntensityGramsPerKwh);

/// <summary>Payload of <c>{prefix}/jobs/{jobId}/{event}</c>.</summary>
public sealed record JobMessage(string Event, JobResponse Job);

/// <summary>Payload of <c>{prefix}/deployments/{name}/events</c>.</summary>
public sealed record DeploymentMessage(string Deployment, Core.Deployments.DeploymentEvent Event);

/// <summary>Publishes deployment events to the feed.</summary>
internal sealed class DeploymentFeed(TelemetryFeed feed) : Core.Deployments.IDeploymentEventSink
{
    public void Publish(string deployment, Core.Deployments.DeploymentEvent happened) => feed.PublishDeployment(deployment, happened);
}

/// <summary>Publishes alerts to the feed, for rules with an <c>mqtt</c> target.</summary>
internal sealed class AlertFeed(TelemetryFeed feed) : Core.Alerts.IAlertFeed
{
    public bool Publish(string topic, Core.Alerts.AlertMessage message) => feed.PublishAlert(topic, message);
}

/// <summary>Publishes job submissions and completions to the feed.</summary>
internal sealed class JobFeed(TelemetryFeed feed) : IJobLifecycleHandler
{
    public Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken)
    {
        feed.PublishJob("submitted", job);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync(JobRecord job, Contracts.V1.CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        feed.PublishJob("completed", job);
        return Task.CompletedTask;
    }
}
