namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// The dependency graph of a valid definition: the steps in an order that puts every step after
/// the steps it depends on, and for each step its ancestors (the steps it depends on directly or
/// through others: the only steps whose results it may read).
/// </summary>
public sealed class PipelineGraph
{
    private readonly Dictionary<string, IReadOnlySet<string>> _ancestors;

    private PipelineGraph(IReadOnlyList<PipelineStep> order, Dictionary<string, IReadOnlySet<string>> ancestors)
    {
        Order = order;
        _ancestors = ancestors;
    }

    /// <summary>Every step after the steps it depends on; among steps free to go in either order, the one defined first comes first.</summary>
    public IReadOnlyList<PipelineStep> Order { get; }

    /// <summary>
    /// The graph of <paramref name="definition"/>; throws <see cref="ArgumentException"/> when its
    /// step names repeat, a dependency names no step, or the dependencies form a cycle
    /// (<see cref="PipelineValidator"/> reports each of these).
    /// </summary>
    public static PipelineGraph Create(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var steps = definition.Steps;
        if (steps.Count > PipelineValidator.MaxSteps)
        {
            throw new ArgumentException($"A pipeline has at most {PipelineValidator.MaxSteps} steps.", nameof(definition));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            if (!names.Add(step.Name))
            {
                throw new ArgumentException($"Two steps are named '{step.Name}'.", nameof(definition));
            }
        }

        if (steps.SelectMany(s => s.DependsOn).FirstOrDefault(d => !names.Contains(d)) is { } unknown)
        {
            throw new ArgumentException($"A step depends on '{unknown}', which is not a step.", nameof(definition));
        }

        if (FindCycles(steps) is [var cycle, ..])
        {
            throw new ArgumentException($"The steps form a cycle: {string.Join(" -> ", cycle)} (each depends on the next).", nameof(definition));
        }

        var order = new List<PipelineStep>(steps.Count);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        while (order.Count < steps.Count)
        {
            var ready = steps.First(s => !placed.Contains(s.Name) && s.DependsOn.All(placed.Contains));
            order.Add(ready);
            placed.Add(ready.Name);
        }

        return new PipelineGraph(order, Ancestors(steps).ToDictionary(a => a.Key, a => (IReadOnlySet<string>)a.Value, StringComparer.Ordinal));
    }

    /// <summary>The steps <paramref name="step"/> depends on, directly or through other steps.</summary>
    public IReadOnlySet<string> AncestorsOf(string step) =>
        _ancestors.TryGetValue(step, out var ancestors) ? ancestors : throw new ArgumentException($"There is no step '{step}'.", nameof(step));

    /// <summary>
    /// Each step's ancestors, following <c>dependsOn</c> and ignoring names that are not steps (the
    /// first step of a repeated name stands for it). On a cycle a step is its own ancestor.
    /// </summary>
    internal static Dictionary<string, HashSet<string>> Ancestors(IReadOnlyList<PipelineStep> steps)
    {
        var byName = ByName(steps);
        var ancestors = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (name, step) in byName)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>(step.DependsOn);
            while (pending.TryPop(out var next))
            {
                if (byName.TryGetValue(next, out var dependency) && found.Add(next))
                {
                    foreach (var further in dependency.DependsOn)
                    {
                        pending.Push(further);
                    }
                }
            }

            ancestors[name] = found;
        }

        return ancestors;
    }

    /// <summary>
    /// The dependency cycles, each as the names along it, each depending on the next, with the
    /// first repeated at the end (<c>a, b, a</c>: a depends on b, b on a); each starts from its
    /// step defined first. A step that depends on itself is not counted here.
    /// </summary>
    internal static List<IReadOnlyList<string>> FindCycles(IReadOnlyList<PipelineStep> steps)
    {
        var byName = ByName(steps);
        var index = steps.Select((s, i) => (s.Name, i)).GroupBy(p => p.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the current path; true: done
        var path = new List<string>();
        var cycles = new List<IReadOnlyList<string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        // Depth-first, so at most as deep as there are steps (a bounded number).
        void Visit(string name)
        {
            state[name] = false;
            path.Add(name);
            foreach (var next in byName[name].DependsOn.Where(d => d != name && byName.ContainsKey(d)))
            {
                if (!state.TryGetValue(next, out var done))
                {
                    Visit(next);
                }
                else if (!done)
                {
                    var members = path.Skip(path.IndexOf(next)).ToList();
                    var first = members.MinBy(m => index[m])!;
                    var at = members.IndexOf(first);
                    List<string> cycle = [.. members.Skip(at), .. members.Take(at), first];
                    if (seen.Add(string.Join('\n', cycle)))
                    {
                        cycles.Add(cycle);
                    }
                }
            }

            path.RemoveAt(path.Count - 1);
            state[name] = true;
        }

        foreach (var name in byName.Keys)
        {
            if (!state.ContainsKey(name))
            {
                Visit(name);
            }
        }

        return cycles;
    }

    private static Dictionary<string, PipelineStep> ByName(IReadOnlyList<PipelineStep> steps)
    {
        var byName = new Dictionary<string, PipelineStep>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            byName.TryAdd(step.Name, step);
        }

        return byName;
    }
}
