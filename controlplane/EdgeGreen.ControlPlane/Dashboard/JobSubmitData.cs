using System.Text.Json;
using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>The submit form's fields as typed: text that the page turns into a <see cref="SubmitJobRequest"/>.</summary>
public sealed class JobSubmitForm
{
    public string Name { get; set; } = "";

    public string Kind { get; set; } = BurnKind.KindName;

    /// <summary><c>key=value</c>, one a line.</summary>
    public string Parameters { get; set; } = "";

    /// <summary>Wall-clock time in the browser's zone (datetime-local).</summary>
    public DateTime? EarliestStart { get; set; }

    public DateTime? Deadline { get; set; }

    public string EstimatedDuration { get; set; } = "";

    public double? EstimatedPowerWatts { get; set; }
}

/// <summary>
/// What a submission came to: the planned job, the problems keyed as the REST API keys them
/// (<c>name</c>, <c>parameters.threads</c>, …), or a refusal because its best placement exceeds its budget.
/// </summary>
public sealed record JobSubmitResult(JobRecord? Job, IReadOnlyDictionary<string, string[]> Errors, string? Refusal);

public sealed class JobSubmitData(JobSubmissions submissions, JobScheduler scheduler, ClusterMembership cluster)
{
    public static IReadOnlyList<string> Kinds { get; } = [.. JobKinds.All.Select(k => k.Name)];

    /// <summary>
    /// The form as a request, or the problems of its own fields (lines that are not <c>key=value</c>,
    /// a local time that does not exist in the browser's zone); the service checks everything else.
    /// </summary>
    public static (SubmitJobRequest? Request, Dictionary<string, string[]> Errors) Read(JobSubmitForm form, BrowserClock clock)
    {
        var errors = new Dictionary<string, string[]>();
        // The REST API refuses control characters before routing (ControlCharacterGuard); a form's
        // values come over the circuit instead, so they are checked here, each field by its name.
        foreach (var (field, value) in new[] { ("name", form.Name), ("kind", form.Kind), ("estimatedDuration", form.EstimatedDuration) })
        {
            if (ControlCharacters.Problem(field, value) is { } problem)
            {
                Add(errors, field, problem);
            }
        }

        if (form.Parameters.Replace("\r", "", StringComparison.Ordinal).Split('\n').Any(ControlCharacters.AnyIn))
        {
            Add(errors, "parameters", "parameters may not contain control characters (U+0000-U+001F, U+007F-U+009F) other than line breaks.");
        }

        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var lines = form.Parameters.Split('\n', StringSplitOptions.TrimEntries);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var equals = lines[i].IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? lines[i][..equals].Trim() : "";
            if (key.Length == 0)
            {
                Add(errors, "parameters", $"line {i + 1} is not key=value.");
            }
            else if (!parameters.TryAdd(key, JsonSerializer.SerializeToElement(lines[i][(equals + 1)..].Trim())))
            {
                Add(errors, "parameters", $"line {i + 1} names {key} again.");
            }
        }

        var earliest = Instant("earliestStart", form.EarliestStart, clock, errors);
        var deadline = Instant("deadline", form.Deadline, clock, errors);
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new SubmitJobRequest(form.Name, form.Kind, parameters, earliest, deadline,
            string.IsNullOrWhiteSpace(form.EstimatedDuration) ? null : form.EstimatedDuration.Trim(), form.EstimatedPowerWatts,
            null, null, null, null, null), errors);
    }

    /// <summary>Submits as <c>POST /api/v1/jobs</c> does: validated and estimated, then planned at once or refused over its budget.</summary>
    public async Task<JobSubmitResult> SubmitAsync(SubmitJobRequest request, CancellationToken cancellationToken)
    {
        if (JobData.NotLeader(cluster) is { } elsewhere)
        {
            return new JobSubmitResult(null, new Dictionary<string, string[]>(), elsewhere);
        }

        var (job, errors) = await submissions.CreateAsync(request, cancellationToken);
        if (job is null)
        {
            return new JobSubmitResult(null, errors, null);
        }

        var outcome = await scheduler.SubmitAsync(job, cancellationToken);
        return outcome.Refused
            ? new JobSubmitResult(null, errors, outcome.Job.StatusReason ?? "The job's best placement exceeds its budget.")
            : new JobSubmitResult(outcome.Job, errors, null);
    }

    private static DateTimeOffset? Instant(string field, DateTime? local, BrowserClock clock, Dictionary<string, string[]> errors)
    {
        if (local is not { } value)
        {
            return null;
        }

        var unspecified = DateTime.SpecifyKind(value, DateTimeKind.Unspecified);
        if (clock.Zone.IsInvalidTime(unspecified))
        {
            Add(errors, field, $"{field}: that time does not exist in {clock.Label} (the clocks skip it).");
            return null;
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(unspecified, clock.Zone), TimeSpan.Zero);
    }

    private static void Add(Dictionary<string, string[]> errors, string field, string message) =>
        errors[field] = errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];
}
