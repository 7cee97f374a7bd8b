namespace EdgeGreen.Agent.Outbox;

/// <summary>Consecutive sequence numbers <see cref="First"/>..<see cref="Last"/>, both included.</summary>
internal sealed record SequenceRange
{
    public long First { get; set; }

    public long Last { get; set; }

    public long Count => Last - First + 1;

    /// <summary>The part of this range above <paramref name="sequence"/>, or null when none is.</summary>
    public SequenceRange? Above(long sequence) =>
        Last <= sequence ? null : this with { First = Math.Max(First, sequence + 1) };

    /// <summary>Ascending sequences folded into runs of consecutive numbers.</summary>
    public static List<SequenceRange> Runs(IEnumerable<long> ascending)
    {
        var runs = new List<SequenceRange>();
        foreach (var sequence in ascending)
        {
            if (runs.Count > 0 && runs[^1].Last == sequence - 1)
            {
                runs[^1].Last = sequence;
            }
            else
            {
                runs.Add(new SequenceRange { First = sequence, Last = sequence });
            }
        }

        return runs;
    }
}
