using System.Globalization;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Security;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <param name="Parameters">Values for the pipeline's parameters (strings, numbers or booleans); defaults fill the rest.</param>
/// <param name="Deadline">A duration from now (<c>PT12H</c>, or <c>12:00:00</c> as in definitions) or an instant; the definition's deadline when absent.</param>
/// <param name="Version">The pipeline version to run; the latest when absent.</param>
public sealed record StartPipelineRunRequest(Dictionary<string, JsonElement>? Parameters, string? Deadline, int? Version);

/// <summary>Turns a request to run a pipeline into a run, or into the list of what is wrong with it.</summary>
public sealed class PipelineRuns(IPipelineStore store, IOptions<SchedulingOptions> scheduling, TimeProvider timeProvider)
{
    public async Task<(PipelineRun? Run, Dictionary<string, string[]> Errors, bool NotFound)> CreateAsync(string pipeline, StartPipelineRunRequest request,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var versions = await store.ListVersionsAsync(pipeline, cancellationToken);
        if (versions.Count == 0)
        {
            return (null, errors, true);
        }

        var version = request.Version is { } number ? versions.FirstOrDefault(v => v.Version == number) : versions[^1];
        if (version is null)
        {
            errors["version"] = [string.Create(CultureInfo.InvariantCulture, $"'{pipeline}' has versions 1 to {versions[^1].Version}.")];
            return (null, errors, false);
        }

        var definition = version.Definition;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in request.Parameters ?? [])
        {
            if (!definition.Parameters.ContainsKey(name))
            {
                errors[$"parameters.{name}"] = [$"'{pipeline}' takes no parameter '{name}'; it takes: {string.Join(", ", definition.Parameters.Keys)}."];
                continue;
            }

            if (JobSubmissions.ScalarText(value) is { } text)
            {
                parameters[name] = text;
            }
            else
            {
                errors[$"parameters.{name}"] = [JobSubmissions.ScalarRule];
            }
        }

        foreach (var (name, fallback) in definition.Parameters)
        {
            if (parameters.ContainsKey(name) || errors.ContainsKey($"parameters.{name}"))
            {
                continue;
            }

            if (fallback is null)
            {
                errors[$"parameters.{name}"] = [$"'{name}' has no default; the run must give it."];
            }
            else
            {
                parameters[name] = fallback;
            }
        }

        var now = timeProvider.GetUtcNow();
        var deadline = Deadline(request.Deadline, definition.Deadline, now, errors);
        if (errors.Count > 0)
        {
            return (null, errors, false);
        }

        var steps = definition.Steps.Select(s => new PipelineStepRun(s.Name, PipelineStepStatus.Pending)).ToList();
        var run = new PipelineRun(Secrets.NewId(), pipeline, version.Version, parameters, now, deadline!.Value, definition.CarbonBudgetGrams, definition.EnergyBudgetJoules,
            PipelineRunStatus.Pending, steps, 0);
        return (run, errors, false);
    }

    private DateTimeOffset? Deadline(string? text, TimeSpan? fallback, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        var horizon = scheduling.Value.Horizon;
        DateTimeOffset deadline;
        if (text is null)
        {
            if (fallback is null)
            {
                errors["deadline"] = ["deadline is required: the pipeline gives none (an ISO 8601 duration such as PT12H, or an instant)."];
                return null;
            }

            if (fallback.Value > horizon)
            {
                errors["deadline"] = [$"the pipeline's deadline is beyond the planning horizon, {Durations.Format(horizon)}: give a shorter one."];
                return null;
            }

            deadline = now + fallback.Value;
        }
        else if (Durations.TryParse(text, out var duration))
        {
            if (duration <= TimeSpan.Zero)
            {
                errors["deadline"] = ["deadline must be a positive duration."];
                return null;
            }

            deadline = duration > horizon ? DateTimeOffset.MaxValue : now + duration;
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant) && Instants.IsPlausible(instant))
        {
            if (instant <= now)
            {
                errors["deadline"] = ["deadline has passed; it must be in the future."];
                return null;
            }

            deadline = instant.ToUniversalTime();
        }
        else
        {
            errors["deadline"] = [$"deadline must be an ISO 8601 duration (PT12H) or an instant {Instants.Range}."];
            return null;
        }

        if (deadline > now + horizon)
        {
            errors["deadline"] = [$"deadline may be at most the planning horizon ahead, {Durations.Format(horizon)}."];
            return null;
        }

        return deadline;
    }
}
