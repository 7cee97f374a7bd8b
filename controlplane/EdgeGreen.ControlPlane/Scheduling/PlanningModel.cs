namespace EdgeGreen.ControlPlane.Scheduling;

/// <summary>An agent as the planner sees it: where it draws power and how many cores it offers.</summary>
public sealed record PlanningAgent(string Id, string Zone, int CpuCores);

/// <summary>
/// A job to place, in whole slots counted from the calendar's origin: it may start at
/// <paramref name="EarliestSlot"/> or later and should finish by <paramref name="DeadlineSlot"/>
/// (exclusive). <paramref name="Zones"/> restricts placement (null: anywhere).
/// </summary>
public sealed record PlanningJob(
    string Id,
    int EarliestSlot,
    int DeadlineSlot,
    int DurationSlots,
    double PowerWatts,
    int CpuCores,
    IReadOnlyList<string>? Zones = null);

/// <summary>Where and when a job runs, with its expected emissions there and if run at once.</summary>
public sealed record PlannedJob(string JobId, int AgentIndex, int StartSlot, double ForecastCarbonGrams, bool MeetsDeadline);

/// <summary>Free cores per agent per slot; reservations are whole slots.</summary>
public sealed class CapacityCalendar
{
    private readonly int[][] _free;

    public CapacityCalendar(IReadOnlyList<PlanningAgent> agents, int slots)
    {
        Agents = agents;
        Slots = slots;
        _free = [.. agents.Select(a => Enumerable.Repeat(a.CpuCores, slots).ToArray())];
    }

    public IReadOnlyList<PlanningAgent> Agents { get; }

    public int Slots { get; }

    public bool Fits(int agent, int start, int duration, int cores)
    {
        if (start < 0 || start + duration > Slots)
        {
            return false;
        }

        var free = _free[agent];
        for (var slot = start; slot < start + duration; slot++)
        {
            if (free[slot] < cores)
            {
                return false;
            }
        }

        return true;
    }

    public void Reserve(int agent, int start, int duration, int cores) => Add(agent, start, duration, -cores);

    public void Release(int agent, int start, int duration, int cores) => Add(agent, start, duration, cores);

    private void Add(int agent, int start, int duration, int cores)
    {
        var free = _free[agent];
        for (var slot = start; slot < start + duration; slot++)
        {
            free[slot] += cores;
        }
    }
}

/// <summary>Expected intensity per zone for every slot of the calendar, with O(1) window sums.</summary>
public sealed class IntensityTable
{
    private readonly Dictionary<string, double[]> _prefix = new(StringComparer.Ordinal);

    /// <param name="slotHours">Length of one slot in hours.</param>
    /// <param name="intensityByZone">gCO₂e/kWh per slot, all of the calendar's length.</param>
    public IntensityTable(double slotHours, IReadOnlyDictionary<string, double[]> intensityByZone)
    {
        SlotHours = slotHours;
        foreach (var (zone, values) in intensityByZone)
        {
            var prefix = new double[values.Length + 1];
            for (var i = 0; i < values.Length; i++)
            {
                prefix[i + 1] = prefix[i] + values[i];
            }

            _prefix[zone] = prefix;
        }
    }

    public double SlotHours { get; }

    public IEnumerable<string> Zones => _prefix.Keys;

    public bool Has(string zone) => _prefix.ContainsKey(zone);

    /// <summary>Grams CO₂e of drawing <paramref name="powerWatts"/> in the zone over [start, start + duration).</summary>
    public double Emissions(string zone, int start, int duration, double powerWatts)
    {
        var prefix = _prefix[zone];
        return powerWatts / 1000 * SlotHours * (prefix[start + duration] - prefix[start]);
    }
}
