namespace EdgeGreen.ControlPlane.Core.Scheduling;

/// <summary>An agent as the planner sees it: where it draws power and what it offers (memory unbounded unless given).</summary>
public sealed record PlanningAgent(string Id, string Zone, int CpuCores, long MemoryBytes = long.MaxValue, int Gpus = 0)
{
    public ResourceDemand Capacity => new(CpuCores, MemoryBytes, Gpus);
}

/// <summary>What a job holds on its agent while it runs.</summary>
public readonly record struct ResourceDemand(int CpuCores, long MemoryBytes = 0, int Gpus = 0);

/// <summary>
/// A job to place, in whole slots counted from the calendar's origin: it may start at
/// <paramref name="EarliestSlot"/> or later and should finish by <paramref name="DeadlineSlot"/>
/// (exclusive). <paramref name="Zones"/> restricts placement (null: anywhere), and so does
/// <paramref name="EligibleAgents"/> (indexes into the calendar's agents; null: any agent).
/// </summary>
public sealed record PlanningJob(
    string Id,
    int EarliestSlot,
    int DeadlineSlot,
    int DurationSlots,
    double PowerWatts,
    int CpuCores,
    IReadOnlyList<string>? Zones = null,
    long MemoryBytes = 0,
    int Gpus = 0,
    IReadOnlySet<int>? EligibleAgents = null)
{
    public ResourceDemand Demand => new(CpuCores, MemoryBytes, Gpus);
}

/// <summary>Where and when a job runs, with its expected emissions there and if run at once.</summary>
public sealed record PlannedJob(string JobId, int AgentIndex, int StartSlot, double ForecastCarbonGrams, bool MeetsDeadline);

/// <summary>Free cores, memory and GPUs per agent per slot; reservations are whole slots.</summary>
public sealed class CapacityCalendar
{
    private readonly int[][] _free;
    private readonly long[][] _freeMemory;
    private readonly int[][] _freeGpus;

    public CapacityCalendar(IReadOnlyList<PlanningAgent> agents, int slots)
    {
        Agents = agents;
        Slots = slots;
        _free = [.. agents.Select(a => Enumerable.Repeat(a.CpuCores, slots).ToArray())];
        _freeMemory = [.. agents.Select(a => Enumerable.Repeat(a.MemoryBytes, slots).ToArray())];
        _freeGpus = [.. agents.Select(a => Enumerable.Repeat(a.Gpus, slots).ToArray())];
    }

    private CapacityCalendar(CapacityCalendar other)
    {
        Agents = other.Agents;
        Slots = other.Slots;
        _free = [.. other._free.Select(a => (int[])a.Clone())];
        _freeMemory = [.. other._freeMemory.Select(a => (long[])a.Clone())];
        _freeGpus = [.. other._freeGpus.Select(a => (int[])a.Clone())];
    }

    public IReadOnlyList<PlanningAgent> Agents { get; }

    /// <summary>An independent copy, for trying a plan without committing it.</summary>
    public CapacityCalendar Clone() => new(this);

    public int Slots { get; }

    public bool Fits(int agent, int start, int duration, ResourceDemand demand)
    {
        if (start < 0 || start + duration > Slots)
        {
            return false;
        }

        var free = _free[agent];
        for (var slot = start; slot < start + duration; slot++)
        {
            if (free[slot] < demand.CpuCores)
            {
                return false;
            }
        }

        return (demand.MemoryBytes == 0 || AllAtLeast(_freeMemory[agent], start, duration, demand.MemoryBytes))
            && (demand.Gpus == 0 || AllAtLeast(_freeGpus[agent], start, duration, demand.Gpus));
    }

    /// <summary>The cores not yet reserved on the agent in the slot.</summary>
    public int FreeCores(int agent, int slot) => _free[agent][slot];

    public void Reserve(int agent, int start, int duration, ResourceDemand demand) => Add(agent, start, duration, demand, -1);

    public void Release(int agent, int start, int duration, ResourceDemand demand) => Add(agent, start, duration, demand, 1);

    private static bool AllAtLeast<T>(T[] free, int start, int duration, T needed) where T : System.Numerics.INumber<T>
    {
        for (var slot = start; slot < start + duration; slot++)
        {
            if (free[slot] < needed)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Clipped to the calendar, so that a reservation may start before it or run past its end.</summary>
    private void Add(int agent, int start, int duration, ResourceDemand demand, int sign)
    {
        var (free, memory, gpus) = (_free[agent], _freeMemory[agent], _freeGpus[agent]);
        for (var slot = Math.Max(0, start); slot < Math.Min(Slots, start + duration); slot++)
        {
            free[slot] += sign * demand.CpuCores;
            memory[slot] += sign * demand.MemoryBytes;
            gpus[slot] += sign * demand.Gpus;
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

    /// <summary>How many slots the zone's intensity covers.</summary>
    public int Slots(string zone) => _prefix[zone].Length - 1;

    /// <summary>Grams CO₂e of drawing <paramref name="powerWatts"/> in the zone over [start, start + duration).</summary>
    public double Emissions(string zone, int start, int duration, double powerWatts)
    {
        var prefix = _prefix[zone];
        return powerWatts / 1000 * SlotHours * (prefix[start + duration] - prefix[start]);
    }
}
