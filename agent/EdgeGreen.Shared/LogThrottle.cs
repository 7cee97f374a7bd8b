namespace EdgeGreen.Shared;

/// <summary>
/// Keeps a warning that repeats through one fault (a full outbox, an unreachable control plane, a
/// sensor that keeps failing) to one log line per <see cref="Interval"/> and key, each line saying
/// how many like it were held back since the last. Counters still count every occurrence; the log
/// says that the fault goes on without burying everything else. At most <see cref="MaxKeys"/> keys
/// are tracked: past that, keys share one slot, so memory stays bounded whatever the keys.
/// </summary>
public sealed class LogThrottle(TimeProvider timeProvider, TimeSpan interval)
{
    /// <summary>The default interval between two lines of one repeated warning.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    public const int MaxKeys = 1024;

    private const string SharedKey = "";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    public LogThrottle(TimeProvider timeProvider)
        : this(timeProvider, DefaultInterval)
    {
    }

    public TimeSpan Interval { get; } = interval > TimeSpan.Zero
        ? interval
        : throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval must be positive.");

    /// <summary>
    /// Whether this occurrence of the warning under <paramref name="key"/> is to be logged; when it
    /// is, <paramref name="suppressed"/> is how many were held back since the last logged one.
    /// </summary>
    public bool ShouldLog(string key, out long suppressed)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = timeProvider.GetTimestamp();
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                if (_slots.Count >= MaxKeys)
                {
                    Forget(now);
                }

                if (_slots.Count >= MaxKeys)
                {
                    key = SharedKey;
                    slot = _slots.GetValueOrDefault(key);
                }
            }

            if (slot is not null && timeProvider.GetElapsedTime(slot.LoggedAt, now) < Interval)
            {
                slot.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = slot?.Suppressed ?? 0;
            _slots[key] = new Slot(now);
            return true;
        }
    }

    /// <summary>Drops the keys whose interval has passed: their next warning is logged anyway.</summary>
    private void Forget(long now)
    {
        foreach (var (key, slot) in _slots)
        {
            if (timeProvider.GetElapsedTime(slot.LoggedAt, now) >= Interval)
            {
                _slots.Remove(key);
            }
        }
    }

    private sealed class Slot(long loggedAt)
    {
        public long LoggedAt { get; } = loggedAt;

        public long Suppressed { get; set; }
    }
}
