using EdgeGreen.ControlPlane.Core;
using Grpc.Core;
using Prometheus;

namespace EdgeGreen.ControlPlane.Ingest;

public sealed class IngestMetrics(IMetricFactory factory)
{
    public Counter ReadingsStored { get; } = factory.CreateCounter("edgegreen_ingest_readings_stored_total",
        "Readings newly stored from agents.");

    public Counter ReadingsDuplicate { get; } = factory.CreateCounter("edgegreen_ingest_readings_duplicate_total",
        "Resent readings that were already stored and were skipped.");

    public Counter BatchesRejected { get; } = factory.CreateCounter("edgegreen_ingest_batches_rejected_total",
        "Batches refused as invalid; nothing of them is stored.", ["status"])
        .WithSeries(nameof(StatusCode.InvalidArgument), nameof(StatusCode.ResourceExhausted), nameof(StatusCode.Unavailable));

    public Gauge OpenStreams { get; } = factory.CreateGauge("edgegreen_ingest_open_streams",
        "Telemetry streams currently open.");
}
