using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// A sensor made of sysfs files, each either a cumulative energy counter in µJ or an
/// instantaneous power reading in µW. Counters report their deltas; power is integrated over each
/// interval with the trapezoid rule between consecutive readings. Every file is read before any
/// state changes, so a pass that fails (a device unplugged mid-read) loses nothing: the next pass
/// covers both intervals.
/// </summary>
public abstract class SysfsChannelSensor(IReadOnlyList<SysfsChannel> channels, TimeProvider timeProvider) : IEnergySensor
{
    private readonly CounterBaseline<double[]> _baseline = new(timeProvider);

    public abstract string Id { get; }

    protected abstract string Kind { get; }

    public IReadOnlyList<SysfsChannel> Channels => channels;

    /// <summary>What was found but could not be read at start, shown beside every channel's note.</summary>
    public string? LeftOut { get; init; }

    public IReadOnlyList<SensorDescriptor> Describe() =>
        [.. channels.Select(c => new SensorDescriptor(Id, Kind, c.Domain, EnergyProvenance.Measured, LeftOut is null ? c.Note : $"{c.Note}; {LeftOut}"))];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = timeProvider.GetTimestamp();
        var current = channels.Select(c => c.Read()).ToArray();
        if (_baseline.Advance(current, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;
        var joules = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < channels.Count; i++)
        {
            // A counter that went backwards (reset, or wrapped at an unknown width) yields a
            // negative delta that the sampler's guard drops and counts.
            var delta = channels[i].IsCounter
                ? (current[i] - previous[i]) / 1e6
                : (current[i] + previous[i]) / 2e6 * elapsed.TotalSeconds;
            joules[channels[i].Domain] = joules.GetValueOrDefault(channels[i].Domain) + delta;
        }

        var time = timeProvider.GetUtcNow();
        return [.. joules.Select(j => new EnergyDelta(j.Key, time, elapsed, j.Value, EnergyProvenance.Measured))];
    }

    /// <summary>Reads one non-negative integer from a sysfs attribute.</summary>
    protected static double ReadValue(string path)
    {
        var text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"{path} holds '{text}', not an integer.");
    }

    protected static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A domain-name part made of lower-case letters, digits and underscores.</summary>
    protected static string Slug(string text)
    {
        var chars = text.Trim().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray();
        return new string(chars).Trim('_') is { Length: > 0 } slug ? slug : "unnamed";
    }

    /// <summary>True when the channel can be read now: files that exist but cannot be read are left out at start.</summary>
    protected static bool Readable(SysfsChannel channel, List<string> problems)
    {
        try
        {
            _ = channel.Read();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            problems.Add($"{channel.Domain}: {ex.Message}");
            return false;
        }
    }
}

/// <summary>One readable energy or power source in sysfs.</summary>
/// <param name="Domain">The energy domain it reports.</param>
/// <param name="IsCounter">True for a cumulative µJ counter, false for a µW power reading.</param>
/// <param name="Read">Reads the current value (µJ or µW).</param>
/// <param name="Note">How it is read, shown in the agent's sensor list.</param>
public sealed record SysfsChannel(string Domain, bool IsCounter, Func<double> Read, string Note);
