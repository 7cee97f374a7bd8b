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
    private const int MaxNameLength = 64;

    public IReadOnlyList<ReadingRecord> Validate(ReadingBatch batch, DateTimeOffset now)
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
            if (Problem(reading, previous, now, limits) is { } problem)
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

    private static string? Problem(Reading reading, ulong previousSequence, DateTimeOffset now, IngestOptions limits)
    {
        if (reading.Sequence == 0 || reading.Sequence > long.MaxValue)
        {
            return "sequence must be between 1 and 2^63-1.";
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
