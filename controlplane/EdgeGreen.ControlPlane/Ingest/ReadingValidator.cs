using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Ingest;

/// <summary>
/// Checks a whole batch before anything of it is stored: a batch with one bad reading is refused
/// entirely, with a status that names the reading and the reason.
/// </summary>
public sealed class ReadingValidator(IOptions<IngestOptions> options)
{
    /// <summary>The largest sequence taken, 2^53: every JSON consumer (the API, the feed) reads it exactly.</summary>
    public const ulong MaxSequence = 1UL << 53;

    /// <summary>
    /// How far past the highest sequence the control plane has from the agent a reading may be.
    /// Ingest takes a reading at or below the durable sequence for a resend, so one far ahead would
    /// make every later reading a silent duplicate. Sequences do skip: the agent's outbox drops its
    /// oldest readings when full and discards the ones refused as too old; but never by more than the
    /// readings the agent made meanwhile, and 2^40 is 34 years of an agent making 1,000 a second.
    /// </summary>
    public const ulong MaxSequenceJump = 1UL << 40;

    private const int MaxNameLength = 64;

    /// <param name="batch">The batch, all of whose readings are checked.</param>
    /// <param name="highestSequence">The highest sequence the control plane has from the agent: durable or taken earlier on this stream.</param>
    /// <param name="now">The control plane's clock.</param>
    public IReadOnlyList<ReadingRecord> Validate(ReadingBatch batch, long highestSequence, DateTimeOffset now)
    {
        var limits = options.Value;
        if (batch.Readings.Count > limits.MaxReadingsPerBatch)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"The batch has {batch.Readings.Count} readings; at most {limits.MaxReadingsPerBatch} are accepted."));
        }

        var records = new List<ReadingRecord>(batch.Readings.Count);
        ulong previous = 0;
        for (var index = 0; index < batch.Readings.Count; index++)
        {
            var reading = batch.Readings[index];
            if (Problem(reading, previous, (ulong)Math.Max(highestSequence, 0) + MaxSequenceJump, now, limits) is { } problem)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"Reading {index} (sequence {reading.Sequence}): {problem}"));
            }

            previous = reading.Sequence;
            records.Add(new ReadingRecord((long)reading.Sequence, reading.Time.ToDateTimeOffset(), reading.Interval.ToTimeSpan(),
                reading.SensorId, reading.Domain, reading.EnergyJoules,
                reading.Provenance == Provenance.Measured ? ReadingProvenance.Measured : ReadingProvenance.Modelled));
        }

        return records;
    }

    private static string? Problem(Reading reading, ulong previousSequence, ulong furthestSequence, DateTimeOffset now, IngestOptions limits)
    {
        if (reading.Sequence is 0 or > MaxSequence)
        {
            return "sequence must be between 1 and 2^53.";
        }

        if (reading.Sequence > furthestSequence)
        {
            return $"sequence is more than 2^40 past {furthestSequence - MaxSequenceJump}, the highest the control plane has from this agent.";
        }

        if (reading.Sequence <= previousSequence)
        {
            return "sequences must increase strictly within a batch.";
        }

        if (reading.Time is null || reading.Interval is null)
        {
            return "time and interval are required.";
        }

        if (!IsValid(reading.Time) || !IsValid(reading.Interval))
        {
            return "time or interval is out of range.";
        }

        var time = reading.Time.ToDateTimeOffset();
        var interval = reading.Interval.ToTimeSpan();
        if (time > now + limits.MaxClockSkew)
        {
            return $"time {time:O} is in the future (more than {limits.MaxClockSkew} ahead of the control plane).";
        }

        if (time < now - limits.MaxReadingAge)
        {
            return $"time {time:O} is older than {limits.MaxReadingAge}.";
        }

        if (interval <= TimeSpan.Zero || interval > limits.MaxInterval)
        {
            return $"interval must be positive and at most {limits.MaxInterval}.";
        }

        if (!double.IsFinite(reading.EnergyJoules) || reading.EnergyJoules < 0)
        {
            return "energyJoules must be a finite, non-negative number.";
        }

        if (reading.EnergyJoules / interval.TotalSeconds > limits.MaxPowerWatts)
        {
            return $"the implied power exceeds {limits.MaxPowerWatts} W.";
        }

        if (reading.Domain.Length is 0 or > MaxNameLength || reading.SensorId.Length is 0 or > MaxNameLength)
        {
            return $"domain and sensorId must be 1 to {MaxNameLength} characters.";
        }

        if ((ControlCharacters.Problem("domain", reading.Domain) ?? ControlCharacters.Problem("sensorId", reading.SensorId)) is { } control)
        {
            return control;
        }

        return reading.Provenance is Provenance.Measured or Provenance.Modelled ? null : "provenance must be measured or modelled.";
    }

    private static bool IsValid(Google.Protobuf.WellKnownTypes.Timestamp timestamp) => Instants.IsPlausible(timestamp.Seconds, timestamp.Nanos);

    private static bool IsValid(Google.Protobuf.WellKnownTypes.Duration duration) =>
        duration.Seconds is >= -315_576_000_000 and <= 315_576_000_000 && Math.Abs(duration.Nanos) < 1_000_000_000;
}
