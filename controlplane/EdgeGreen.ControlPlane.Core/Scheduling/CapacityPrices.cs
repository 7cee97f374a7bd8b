namespace EdgeGreen.ControlPlane.Core.Scheduling;

/// <summary>
/// Prices on each zone's free cores per slot, found by Lagrangian relaxation of the time-indexed
/// placement program. Each zone's capacity row is moved into the objective with a price
/// λ(zone, slot) ≥ 0, after which every job independently takes its cheapest (zone, start) at
/// emissions + cores × the prices over its window, and
/// <c>L(λ) = Σ jobs' cheapest − Σ λ × free cores</c>.
/// <para>
/// Two uses. The planner places jobs at their cheapest fit under these prices, so that jobs do not
/// all reach for the same clean hours when only some of them can have them. And any schedule that
/// starts every job in its window and never exceeds an agent's free cores also respects the zone
/// rows, so for every λ ≥ 0 it emits at least L(λ): <see cref="Bound"/> is a lower bound on the
/// optimum (when every job has a window, <see cref="Complete"/>), whatever the step sizes.
/// </para>
/// <para>
/// λ = 0 is "every job alone in its best window". Projected subgradient steps raise L towards the
/// linear-programming bound: Polyak's rule towards a known schedule's emissions, the step halved
/// after 20 iterations without a gain.
/// </para>
/// </summary>
public sealed class CapacityPrices
{
    private const int Patience = 20;
    private readonly Dictionary<string, double[]> _prefix;

    private CapacityPrices(Dictionary<string, double[]> prefix, double bound, bool complete)
    {
        _prefix = prefix;
        Bound = bound;
        Complete = complete;
    }

    /// <summary>The best L(λ) found, in grams.</summary>
    public double Bound { get; }

    /// <summary>True when every job had a window that meets its deadline, so <see cref="Bound"/> bounds every schedule.</summary>
    public bool Complete { get; }

    /// <summary>The price of holding one core in <paramref name="zone"/> over [start, start + duration).</summary>
    public double WindowPrice(string zone, int start, int duration) =>
        _prefix.TryGetValue(zone, out var prefix) ? prefix[start + duration] - prefix[start] : 0;

    /// <param name="jobs">The jobs to price for; a job with no window that meets its deadline is left out (and <see cref="Complete"/> is false).</param>
    /// <param name="freeCores">Cores free per zone and slot (all slots of the horizon).</param>
    /// <param name="largestAgentCores">Per zone, the most cores one agent has: a job needing more cannot run there.</param>
    /// <param name="intensity">Expected intensity per zone and slot.</param>
    /// <param name="slots">The horizon in slots.</param>
    /// <param name="knownSchedule">Emissions of some schedule of the same jobs, used only to size the steps.</param>
    /// <param name="iterations">Subgradient steps at most.</param>
    public static CapacityPrices Compute(IReadOnlyList<PlanningJob> jobs, IReadOnlyDictionary<string, double[]> freeCores,
        IReadOnlyDictionary<string, int> largestAgentCores, IntensityTable intensity, int slots, double knownSchedule, int iterations)
    {
        var zones = freeCores.Keys.Where(intensity.Has).ToArray();
        var options = new List<(int Job, (int Zone, int Start, double Grams)[] Choices)>();
        var complete = true;
        for (var j = 0; j < jobs.Count; j++)
        {
            var job = jobs[j];
            var choices = new List<(int, int, double)>();
            for (var z = 0; z < zones.Length; z++)
            {
                if (largestAgentCores.GetValueOrDefault(zones[z]) < job.CpuCores || (job.Zones is { } allowed && !allowed.Contains(zones[z], StringComparer.Ordinal)))
                {
                    continue;
                }

                for (var start = job.EarliestSlot; start + job.DurationSlots <= Math.Min(Math.Min(job.DeadlineSlot, slots), intensity.Slots(zones[z])); start++)
                {
                    choices.Add((z, start, intensity.Emissions(zones[z], start, job.DurationSlots, job.PowerWatts)));
                }
            }

            if (choices.Count == 0)
            {
                complete = false;
                continue;
            }

            options.Add((j, [.. choices]));
        }

        var capacity = zones.Select(z => freeCores[z]).ToArray();
        var price = zones.Select(_ => new double[slots]).ToArray();
        var prefix = zones.Select(_ => new double[slots + 1]).ToArray();
        var load = zones.Select(_ => new double[slots + 1]).ToArray();
        var gradient = zones.Select(_ => new double[slots]).ToArray();
        var best = (Value: double.NegativeInfinity, Prefix: prefix.Select(p => (double[])p.Clone()).ToArray());
        var (step, sinceGain) = (2.0, 0);
        for (var iteration = 0; iteration < iterations && step > 1e-6; iteration++)
        {
            var value = 0.0;
            for (var z = 0; z < zones.Length; z++)
            {
                Array.Clear(load[z]);
                for (var s = 0; s < slots; s++)
                {
                    prefix[z][s + 1] = prefix[z][s] + price[z][s];
                    value -= price[z][s] * capacity[z][s];
                }
            }

            foreach (var (j, choices) in options)
            {
                var (cores, duration) = (jobs[j].CpuCores, jobs[j].DurationSlots);
                var (cheapest, chosen) = (double.MaxValue, choices[0]);
                foreach (var choice in choices)
                {
                    var cost = choice.Grams + (cores * (prefix[choice.Zone][choice.Start + duration] - prefix[choice.Zone][choice.Start]));
                    if (cost < cheapest)
                    {
                        (cheapest, chosen) = (cost, choice);
                    }
                }

                value += cheapest;
                load[chosen.Zone][chosen.Start] += cores;
                load[chosen.Zone][chosen.Start + duration] -= cores;
            }

            if (value > best.Value + 1e-9)
            {
                best.Value = value;
                for (var z = 0; z < zones.Length; z++)
                {
                    Array.Copy(prefix[z], best.Prefix[z], slots + 1);
                }

                sinceGain = 0;
            }
            else if (++sinceGain >= Patience)
            {
                (step, sinceGain) = (step / 2, 0);
            }

            // Subgradient: load − capacity per slot, projected onto λ ≥ 0.
            var norm = 0.0;
            for (var z = 0; z < zones.Length; z++)
            {
                var running = 0.0;
                for (var s = 0; s < slots; s++)
                {
                    running += load[z][s];
                    var g = running - capacity[z][s];
                    gradient[z][s] = price[z][s] > 0 || g > 0 ? g : 0;
                    norm += gradient[z][s] * gradient[z][s];
                }
            }

            if (norm == 0)
            {
                // The relaxed choice fits every zone: these prices are optimal for the relaxation.
                break;
            }

            var size = step * Math.Max(knownSchedule - value, 1e-3 * Math.Abs(knownSchedule)) / norm;
            for (var z = 0; z < zones.Length; z++)
            {
                for (var s = 0; s < slots; s++)
                {
                    price[z][s] = Math.Max(0, price[z][s] + (size * gradient[z][s]));
                }
            }
        }

        return new CapacityPrices(zones.Select((z, i) => (z, i)).ToDictionary(p => p.z, p => best.Prefix[p.i], StringComparer.Ordinal), best.Value, complete);
    }

    /// <summary>The free cores of each zone per slot, and each zone's largest agent, from a calendar.</summary>
    public static (Dictionary<string, double[]> FreeCores, Dictionary<string, int> LargestAgentCores) Capacity(CapacityCalendar calendar)
    {
        var free = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var largest = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var agent = 0; agent < calendar.Agents.Count; agent++)
        {
            var zone = calendar.Agents[agent].Zone;
            var cores = free.TryGetValue(zone, out var known) ? known : free[zone] = new double[calendar.Slots];
            for (var slot = 0; slot < calendar.Slots; slot++)
            {
                cores[slot] += calendar.FreeCores(agent, slot);
            }

            largest[zone] = Math.Max(largest.GetValueOrDefault(zone), calendar.Agents[agent].CpuCores);
        }

        return (free, largest);
    }
}
