using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Pipelines;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>Every pipeline's latest version with its newest run.</summary>
public sealed record PipelinesView(IReadOnlyList<PipelineSummary> Pipelines);

public sealed record PipelineSummary(PipelineVersion Latest, PipelineRun? LastRun);

/// <summary>One pipeline: its versions, oldest first, and its newest runs with their totals.</summary>
public sealed record PipelineView(string Name, IReadOnlyList<PipelineVersion> Versions, IReadOnlyList<RunRow> Runs);

public sealed record RunRow(PipelineRun Run, RunSustainability Totals);

/// <summary>One run drawn as its graph: each step with its place (dependency depth, row) and its definition.</summary>
public sealed record RunView(string Pipeline, PipelineRun? Run, RunSustainability? Totals, IReadOnlyList<GraphStep> Steps);

/// <param name="Run">The step's state in the run.</param>
/// <param name="Kind">Its kind in the run's version ("" where the version is gone).</param>
/// <param name="DependsOn">The steps it waits for.</param>
/// <param name="Column">The step's dependency depth: 0 for a step that depends on none, else one more than its deepest dependency.</param>
/// <param name="Row">Its place among the steps of its column, in definition order.</param>
public sealed record GraphStep(PipelineStepRun Run, string Kind, IReadOnlyList<string> DependsOn, int Column, int Row);

/// <summary>The pipelines pages, read from the pipeline store the REST API reads.</summary>
public sealed class PipelinesData(IPipelineStore store)
{
    public const int MaxRuns = 50;

    public async Task<PipelinesView> LoadAsync(CancellationToken cancellationToken)
    {
        var summaries = new List<PipelineSummary>();
        foreach (var latest in (await store.ListLatestAsync(cancellationToken)).OrderBy(p => p.Pipeline, StringComparer.Ordinal))
        {
            var runs = await store.ListRunsAsync(latest.Pipeline, 1, cancellationToken);
            summaries.Add(new PipelineSummary(latest, runs.Count > 0 ? runs[0] : null));
        }

        return new PipelinesView(summaries);
    }

    public async Task<PipelineView> LoadPipelineAsync(string name, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(name, cancellationToken);
        var runs = versions.Count > 0 ? await store.ListRunsAsync(name, MaxRuns, cancellationToken) : [];
        return new PipelineView(name, versions, [.. runs.Select(r => new RunRow(r, RunSustainability.From(r)))]);
    }

    public async Task<RunView> LoadRunAsync(string name, string id, CancellationToken cancellationToken)
    {
        if (await store.GetRunAsync(id, cancellationToken) is not { } run || run.Pipeline != name)
        {
            return new RunView(name, null, null, []);
        }

        var definition = (await store.ListVersionsAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == run.Version)?.Definition;
        return new RunView(name, run, RunSustainability.From(run), Layout(run, definition));
    }

    /// <summary>Columns by dependency depth, left to right; rows in the definition's order within a column.</summary>
    private static List<GraphStep> Layout(PipelineRun run, PipelineDefinition? definition)
    {
        var steps = definition?.Steps.ToDictionary(s => s.Name, StringComparer.Ordinal) ?? [];
        var depths = new Dictionary<string, int>(StringComparer.Ordinal);
        int Depth(string step, int guard)
        {
            if (depths.TryGetValue(step, out var known))
            {
                return known;
            }

            // A stored definition is acyclic (validated on PUT); the guard only keeps a damaged one from recursing forever.
            var depth = guard > steps.Count || !steps.TryGetValue(step, out var definitionStep) ? 0
                : definitionStep.DependsOn.Where(steps.ContainsKey).Select(d => Depth(d, guard + 1) + 1).DefaultIfEmpty(0).Max();
            depths[step] = depth;
            return depth;
        }

        var rows = new Dictionary<int, int>();
        var laidOut = new List<GraphStep>();
        foreach (var step in run.Steps)
        {
            var column = Depth(step.Name, 0);
            var row = rows.GetValueOrDefault(column);
            rows[column] = row + 1;
            var defined = steps.GetValueOrDefault(step.Name);
            laidOut.Add(new GraphStep(step, defined?.Kind ?? "", [.. (defined?.DependsOn ?? []).Where(steps.ContainsKey)], column, row));
        }

        return laidOut;
    }
}
