using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>The aggregate <c>cpu</c> line of /proc/stat in USER_HZ ticks, and the number of logical CPUs.</summary>
public sealed record ProcStat(ulong Busy, ulong Total, int LogicalCpus)
{
    public static ProcStat Read(string procRoot)
    {
        var statPath = Path.Combine(procRoot, "stat");
        ulong busy = 0, total = 0;
        var cpus = 0;
        var found = false;
        foreach (var line in File.ReadLines(statPath))
        {
            if (line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                // user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is
                // already counted in user and nice, so it is not added again.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 9)
                {
                    throw new InvalidDataException($"{statPath}: the cpu line has {fields.Length - 1} fields, expected at least 8.");
                }

                var values = fields.Skip(1).Take(8).Select(f => ulong.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                var idle = values[3] + values[4];
                busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
                total = busy + idle;
                found = true;
            }
            else if (line.StartsWith("cpu", StringComparison.Ordinal) && line.Length > 3 && char.IsAsciiDigit(line[3]))
            {
                cpus++;
            }
        }

        return found ? new ProcStat(busy, total, Math.Max(cpus, 1)) : throw new InvalidDataException($"{statPath} has no aggregate cpu line.");
    }

    /// <summary>
    /// The busy share of all CPUs between <paramref name="previous"/> and this reading. Counters that
    /// went backwards mean the source was reset; that interval counts as idle rather than inventing load.
    /// </summary>
    public double UtilisationSince(ProcStat previous) =>
        Total > previous.Total && Busy >= previous.Busy
            ? Math.Clamp((double)(Busy - previous.Busy) / (Total - previous.Total), 0, 1)
            : 0;
}
