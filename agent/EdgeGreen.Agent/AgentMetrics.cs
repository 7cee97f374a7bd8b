using Prometheus;

namespace EdgeGreen.Agent;

/// <summary>The agent's Prometheus series, created in the host's registry.</summary>
public sealed class AgentMetrics(IMetricFactory factory)
{
    public Gauge PowerWatts { get; } = factory.CreateGauge("edgegreen_agent_power_watts",
        "Average power of the last sampling interval, per energy domain.", ["domain"]);

    public Counter EnergyJoules { get; } = factory.CreateCounter("edgegreen_agent_energy_joules_total",
        "Energy measured or modelled since the agent started, per energy domain.", ["domain"]);

    public Counter AttributedEnergyJoules { get; } = factory.CreateCounter("edgegreen_agent_attributed_energy_joules_total",
        "Node energy split by attribution: to jobs, to idle, and to other (processes outside any job); the three add up to the node total.", ["to"]);

    public Counter SensorValuesDropped { get; } = factory.CreateCounter("edgegreen_agent_sensor_values_dropped_total",
        "Sensor values dropped as impossible (NaN, negative, absurd power), by sensor and reason.", ["sensor", "reason"]);

    public Counter SampleErrors { get; } = factory.CreateCounter("edgegreen_agent_sample_errors_total",
        "Sampling iterations that failed, by sensor.", ["sensor"]);

    public Gauge OutboxDepth { get; } = factory.CreateGauge("edgegreen_agent_outbox_depth",
        "Readings written to the outbox and not yet acknowledged by the control plane.");

    public Counter OutboxDropped { get; } = factory.CreateCounter("edgegreen_agent_outbox_dropped_total",
        "Readings lost because the outbox reached its size bound: dropped before they were sent, or dropped in flight and then not stored by the control plane.");

    public Gauge OutboxDroppedInFlight { get; } = factory.CreateGauge("edgegreen_agent_outbox_dropped_in_flight",
        "Readings dropped from the full outbox after they were sent, whose acknowledgement has not come yet: counted as lost only if the control plane turns out not to hold them.");

    public Counter ReadingsAcknowledged { get; } = factory.CreateCounter("edgegreen_agent_readings_acknowledged_total",
        "Readings the control plane acknowledged as durable.");

    public Counter ReadingsRejected { get; } = factory.CreateCounter("edgegreen_agent_readings_rejected_total",
        "Readings the control plane refused as invalid; they are removed from the outbox.");

    public Gauge UplinkConnected { get; } = factory.CreateGauge("edgegreen_agent_uplink_connected",
        "1 while the telemetry stream to the control plane is open, else 0.");

    public Counter UplinkFailures { get; } = factory.CreateCounter("edgegreen_agent_uplink_failures_total",
        "Telemetry streams that ended in an error and were reconnected.");

    public Counter JobsStarted { get; } = factory.CreateCounter("edgegreen_agent_jobs_started_total",
        "Jobs the agent started.");

    public Counter JobsFinished { get; } = factory.CreateCounter("edgegreen_agent_jobs_finished_total",
        "Jobs that ended and were reported, by outcome (succeeded, failed, cancelled).", ["outcome"]);

    public Counter JobReportsRefused { get; } = factory.CreateCounter("edgegreen_agent_job_reports_refused_total",
        "Job completions the control plane refused (the lease had passed to another agent); removed from the outbox.");

    public Counter JobStreamFailures { get; } = factory.CreateCounter("edgegreen_agent_job_stream_failures_total",
        "Job assignment streams that ended in an error and were reconnected.");

    public Counter InferenceRequests { get; } = factory.CreateCounter("edgegreen_agent_inference_requests_total",
        "Open Inference Protocol infer requests to served models, by model and outcome (answered, failed).", ["model", "outcome"]);

    public Counter DeploymentLoadFailures { get; } = factory.CreateCounter("edgegreen_agent_deployment_load_failures_total",
        "Deployment versions that failed to load (download, verification or session), each retried later with backoff.");

    public Counter Inferences { get; } = factory.CreateCounter("edgegreen_agent_inferences_total",
        "Inferences (rows of the first input) answered by served models, by model.", ["model"]);

    public Counter HeartbeatFailures { get; } = factory.CreateCounter("edgegreen_agent_heartbeat_failures_total",
        "Heartbeats that could not be delivered.");

    public Gauge InferenceSummariesPending { get; } = factory.CreateGauge("edgegreen_agent_inference_summaries_pending",
        "Summaries of monitored deployments' traffic written to the outbox and not yet taken by the control plane.");

    public Counter InferenceSummariesSent { get; } = factory.CreateCounter("edgegreen_agent_inference_summaries_sent_total",
        "Summaries of monitored traffic the control plane took (stored, or already held from an earlier send).");

    public Counter InferenceSummariesDropped { get; } = factory.CreateCounter("edgegreen_agent_inference_summaries_dropped_total",
        "Summaries of monitored traffic lost, by reason: outbox_full (the oldest, to make room), refused (the control plane refused it: invalid, or for a deployment this agent is not a target of), unwritable (the outbox could not be written).", ["reason"]);

    public Counter InferenceSummariesTrimmed { get; } = factory.CreateCounter("edgegreen_agent_inference_summaries_trimmed_total",
        "Summaries whose sample, then prediction log, was left out so that the summary fits one message.");

    public Counter InferenceSummarySendFailures { get; } = factory.CreateCounter("edgegreen_agent_inference_summaries_send_failures_total",
        "Sends of summaries that failed and were retried later with backoff.");

    public Counter MonitoredPredictionsDropped { get; } = factory.CreateCounter("edgegreen_agent_monitored_predictions_dropped_total",
        "Predictions of requests with an id that the prediction log left out, by reason: window_full (the per-window cap) or id_too_long.", ["reason"]);

    public Counter MonitoringProfilesRefused { get; } = factory.CreateCounter("edgegreen_agent_monitoring_profiles_refused_total",
        "Monitoring profiles the agent could not use (out of bounds); their versions are served unmonitored.");
}
