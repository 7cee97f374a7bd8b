using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Why the garbage collector runs, from the runtime's own events in this process: each gen 2
/// collection's reason (<c>GCStart</c>), and the types behind large-object allocations (the
/// runtime's <c>GCAllocationTick</c> samples about every 100 KB allocated). A window's line shows
/// what triggered its full collections and what filled the large-object heap meanwhile.
/// </summary>
internal sealed class GcEvents : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    /// <summary>The runtime's <c>gc_reason</c> values, in order.</summary>
    private static readonly string[] Reasons =
    [
        "small alloc", "induced", "low memory", "empty", "large alloc", "out of space (SOH)", "out of space (LOH)", "induced not forced",
        "internal", "induced low memory", "induced compacting", "low memory host", "PM full GC", "low memory host blocking",
    ];

    private readonly ConcurrentDictionary<string, long> _gen2Reasons = new();
    private readonly ConcurrentDictionary<string, long> _largeTypes = new();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCStart", StringComparison.Ordinal) == true && Payload(eventData, "Depth") is uint depth && depth == 2
            && Payload(eventData, "Reason") is uint reason)
        {
            _gen2Reasons.AddOrUpdate(reason < Reasons.Length ? Reasons[reason] : reason.ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
        }
        else if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && Payload(eventData, "AllocationKind") is uint kind
            && kind == 1 && Payload(eventData, "TypeName") is string type)
        {
            _largeTypes.AddOrUpdate(type, 1, (_, n) => n + 1);
        }
    }

    /// <summary>The window's counts since the last call, and a fresh window.</summary>
    public string TakeWindow()
    {
        var reasons = Drain(_gen2Reasons).Select(r => $"{r.Key} {r.Value}");
        var large = Drain(_largeTypes).OrderByDescending(t => t.Value).Take(3).Select(t => $"{t.Key} ×{t.Value}");
        return $"gen2 reasons [{string.Join(", ", reasons)}]; large-object samples [{string.Join(", ", large)}]";
    }

    private static List<KeyValuePair<string, long>> Drain(ConcurrentDictionary<string, long> counts)
    {
        var taken = new List<KeyValuePair<string, long>>();
        foreach (var key in counts.Keys)
        {
            if (counts.TryRemove(key, out var value))
            {
                taken.Add(new(key, value));
            }
        }

        return taken;
    }

    private static object? Payload(EventWrittenEventArgs eventData, string name)
    {
        var index = eventData.PayloadNames?.IndexOf(name) ?? -1;
        return index >= 0 ? eventData.Payload![index] : null;
    }
}
