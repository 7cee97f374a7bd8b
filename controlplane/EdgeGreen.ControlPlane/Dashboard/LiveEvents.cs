namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>Something the dashboard shows changed: the same events the MQTT feed publishes.</summary>
public enum LiveTopic
{
    Readings,
    Jobs,
    Deployments,
    Agents,
}

/// <summary>
/// In-process fan-out of the feed's events to the dashboard's open pages. Publishing is on the
/// ingest and scheduler paths, so a subscriber only marks itself stale (<see cref="LiveSubscription"/>)
/// and reloads on its own timer: a thousand agents' readings cost each open page one reload a
/// second at most, and a slow page never slows ingest.
/// </summary>
public sealed class LiveEvents
{
    private readonly Lock _gate = new();
    private LiveSubscription[] _subscribers = [];

    /// <summary>Tells the open pages that <paramref name="topic"/> happened, about <paramref name="subject"/> (an agent's id) when it concerns one.</summary>
    public void Publish(LiveTopic topic, string? subject = null)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Notify(topic, subject);
        }
    }

    /// <summary>
    /// Marks the subscription stale whenever one of <paramref name="topics"/> happens, until disposed;
    /// with <paramref name="subject"/>, only events about that subject or about none (an agent's page
    /// does not reload for the rest of the fleet's readings).
    /// </summary>
    public LiveSubscription Subscribe(LiveTopic[] topics, string? subject = null)
    {
        var subscription = new LiveSubscription(this, topics, subject);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }

        return subscription;
    }

    internal void Remove(LiveSubscription subscription)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => !ReferenceEquals(s, subscription))];
        }
    }

    internal int SubscriberCount => Volatile.Read(ref _subscribers).Length;
}

/// <summary>One open page's interest in some topics; <see cref="TakeStale"/> says whether any happened since the last look.</summary>
public sealed class LiveSubscription : IDisposable
{
    private readonly LiveEvents _events;
    private readonly LiveTopic[] _topics;
    private readonly string? _subject;
    private int _stale;

    internal LiveSubscription(LiveEvents events, LiveTopic[] topics, string? subject)
    {
        _events = events;
        _topics = topics;
        _subject = subject;
    }

    internal void Notify(LiveTopic topic, string? subject)
    {
        if (Array.IndexOf(_topics, topic) >= 0 && (_subject is null || subject is null || string.Equals(subject, _subject, StringComparison.Ordinal)))
        {
            Volatile.Write(ref _stale, 1);
        }
    }

    /// <summary>The subject this subscription is narrowed to, or null.</summary>
    public string? Subject => _subject;

    /// <summary>True once after each burst of events: the caller reloads, and the flag is cleared.</summary>
    public bool TakeStale() => Interlocked.Exchange(ref _stale, 0) == 1;

    public void Dispose() => _events.Remove(this);
}
