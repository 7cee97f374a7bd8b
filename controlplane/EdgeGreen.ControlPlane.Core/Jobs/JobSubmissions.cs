using System.Globalization;
using System.Text.Json;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Core.Security;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Jobs;

public sealed record SubmitJobRequest(
    string? Name,
    string? Kind,
    Dictionary<string, JsonElement>? Parameters,
    DateTimeOffset? EarliestStart,
    DateTimeOffset? Deadline,
    string? EstimatedDuration,
    double? EstimatedPowerWatts,
    JobResourcesRequest? Resources,
    JobPlacementRequest? Placement,
    bool? Interruptible,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules);

public sealed record JobResourcesRequest(int? CpuCores, long? MemoryBytes, int? Gpus);

public sealed record JobPlacementRequest(Dictionary<string, string>? AgentLabels, List<string>? Zones);

/// <summary>
/// Turns a submission into a job record, or into the list of what is wrong with it. Missing
/// estimates are filled in from the median of the newest succeeded jobs of the same name, then
/// from the kind's parameters (a burn's duration), then (power only) from
/// <see cref="SchedulingOptions.DefaultPowerWattsPerCore"/>. A job without a deadline is to run
/// at once: its deadline is its earliest start plus its duration plus one planning slot.
/// </summary>
public sealed class JobSubmissions(IJobStore jobs, IEnumerable<IJobParameterResolver> resolvers, CarbonIntensity carbon, IOptions<SchedulingOptions> options, TimeProvider timeProvider)
{
    private const int MaxNameLength = 128;


    private const int MaxParameters = 64;
    private const double MaxPowerWatts = 100_000;

    public async Task<(JobRecord? Job, Dictionary<string, string[]> Errors)> CreateAsync(SubmitJobRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var now = timeProvider.GetUtcNow();
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength)
        {
            errors["name"] = [$"name is required, 1 to {MaxNameLength} characters."];
        }

        var kind = request.Kind is { } kindName ? JobKinds.Find(kindName) : null;
        if (kind is null)
        {
            errors["kind"] = [$"kind must be one of: {string.Join(", ", JobKinds.All.Select(k => k.Name))}."];
        }

        var parameters = Parameters(request.Parameters, errors);
        if (kind is not null && parameters is not null)
        {
            foreach (var (parameter, problem) in kind.Validate(parameters))
            {
                errors[$"parameters.{parameter}"] = [problem];
            }

            foreach (var resolver in resolvers)
            {
                await resolver.ResolveAsync(kind.Name, parameters, errors, cancellationToken);
            }
        }

        var earliestPlausible = Instants.Check("earliestStart", request.EarliestStart, errors);
        var earliest = earliestPlausible ? request.EarliestStart?.ToUniversalTime() ?? now : now;
        if (Instants.Check("deadline", request.Deadline, errors) && request.Deadline is { } deadline)
        {
            if (deadline <= now)
            {
                errors["deadline"] = ["deadline has passed; it must be in the future."];
            }
            else if (earliestPlausible && deadline <= earliest)
            {
                errors["deadline"] = ["deadline must be after earliestStart (or after now when earliestStart is not given)."];
            }
        }

        // Without resources.cpuCores a job reserves the threads its parameters name (burn, serve), else one core.
        var impliedCores = kind is not null && parameters is not null && !errors.Keys.Any(k => k.StartsWith("parameters", StringComparison.Ordinal))
            ? kind.ImpliedCpuCores(parameters)
            : null;
        var resources = new JobResources(request.Resources?.CpuCores ?? impliedCores ?? 1, request.Resources?.MemoryBytes ?? 0, request.Resources?.Gpus ?? 0);
        if (resources.CpuCores is < 0 or > 4096 || resources.MemoryBytes < 0 || resources.Gpus is < 0 or > 64)
        {
            errors["resources"] = ["resources need 0-4096 cpuCores, non-negative memoryBytes and 0-64 gpus."];
        }

        CheckPositive(request.CarbonBudgetGrams, "carbonBudgetGrams", errors);
        CheckPositive(request.EnergyBudgetJoules, "energyBudgetJoules", errors);
        if (request.EstimatedPowerWatts is { } power && !(double.IsFinite(power) && power is > 0 and <= MaxPowerWatts))
        {
            errors["estimatedPowerWatts"] = [$"estimatedPowerWatts must be above 0 and at most {MaxPowerWatts} W."];
        }

        TimeSpan? submittedDuration = null;
        if (request.EstimatedDuration is { } durationText)
        {
            if (Durations.TryParse(durationText, out var parsed) && parsed > TimeSpan.Zero)
            {
                submittedDuration = parsed;
            }
            else
            {
                errors["estimatedDuration"] = ["estimatedDuration must be a positive ISO 8601 duration, e.g. PT2H."];
            }
        }

        var placement = new JobPlacement(request.Placement?.AgentLabels ?? [], request.Placement?.Zones ?? []);
        if (placement.Zones.Count > 0)
        {
            var known = await carbon.GetZonesAsync(cancellationToken);
            if (placement.Zones.FirstOrDefault(z => !known.Contains(z, StringComparer.Ordinal)) is { } unknown)
            {
                errors["placement.zones"] = [$"'{unknown}' is not a zone with intensity data; see GET /api/v1/carbon/zones."];
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        // Succeeded runs of the same name, with how long each took.
        var history = (await jobs.ListSucceededAsync(name, options.Value.EstimateHistory, cancellationToken))
            .Where(j => j.StartedAt is not null && j.FinishedAt > j.StartedAt)
            .Select(j => (Job: j, Seconds: (j.FinishedAt!.Value - j.StartedAt!.Value).TotalSeconds))
            .ToList();
        var (duration, durationSource) = submittedDuration is { } given ? (given, EstimateSource.Submitted)
            : Median(history.Select(h => h.Seconds))
                is { } seconds ? (TimeSpan.FromSeconds(seconds), EstimateSource.History)
            : kind!.ImpliedDuration(parameters!) is { } implied ? (implied, EstimateSource.Parameters)
            : (TimeSpan.Zero, EstimateSource.Default);
        if (duration <= TimeSpan.Zero)
        {
            errors["estimatedDuration"] = [$"estimatedDuration is required: no finished job named '{name}' to estimate it from."];
        }
        else if (duration > options.Value.Horizon)
        {
            errors["estimatedDuration"] = [$"estimatedDuration may be at most the planning horizon, {Durations.Format(options.Value.Horizon)}."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var (powerWatts, powerSource) = request.EstimatedPowerWatts is { } submittedPower ? (submittedPower, EstimateSource.Submitted)
            : Median(history.Where(h => h.Job.EnergyJoules > 0).Select(h => h.Job.EnergyJoules!.Value / h.Seconds)) is { } watts ? (watts, EstimateSource.History)
            : (options.Value.DefaultPowerWattsPerCore * Math.Max(1, resources.CpuCores), EstimateSource.Default);

        var job = new JobRecord(
            Secrets.NewId(),
            name,
            kind!.Name,
            parameters!,
            now,
            earliest,
            request.Deadline?.ToUniversalTime() ?? earliest + duration + options.Value.SlotDuration,
            duration,
            durationSource,
            powerWatts,
            powerSource,
            resources,
            placement,
            request.Interruptible ?? false,
            request.CarbonBudgetGrams,
            request.EnergyBudgetJoules,
            JobStatus.Pending);
        return (job, errors);
    }

    /// <summary>Scalar JSON values as text (numbers in invariant form); objects and arrays are refused.</summary>
    private static Dictionary<string, string>? Parameters(Dictionary<string, JsonElement>? values, Dictionary<string, string[]> errors)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (values is null)
        {
            return parameters;
        }

        if (values.Count > MaxParameters)
        {
            errors["parameters"] = [$"at most {MaxParameters} parameters."];
            return null;
        }

        foreach (var (key, value) in values)
        {
            if (ScalarText(value) is { } text)
            {
                parameters[key] = text;
            }
            else
            {
                errors[$"parameters.{key}"] = [ScalarRule];
            }
        }

        return errors.Keys.Any(k => k.StartsWith("parameters", StringComparison.Ordinal)) ? null : parameters;
    }

    internal const string ScalarRule = "parameter values must be strings, numbers or booleans.";

    /// <summary>A scalar JSON value as parameter text (numbers as written, booleans in lower case); null for objects, arrays and null.</summary>
    internal static string? ScalarText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    private static void CheckPositive(double? value, string field, Dictionary<string, string[]> errors)
    {
        if (value is { } v && !(double.IsFinite(v) && v > 0))
        {
            errors[field] = [string.Create(CultureInfo.InvariantCulture, $"{field} must be a positive number when given.")];
        }
    }

    internal static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? null
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
