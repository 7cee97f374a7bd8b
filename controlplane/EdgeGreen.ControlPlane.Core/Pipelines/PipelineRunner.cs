using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Registry;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Moves pipeline runs forward on the leader: collects what the steps' jobs did, plans the steps
/// still to run as a whole (<see cref="PipelinePlanning"/>), decides the steps whose predecessors
/// are done (skipped, gated, cached, run in the control plane, or submitted as a job whose window
/// ends where its successors' planned places begin), keeps budgets, and ends the run. Every change
/// is one stored revision of the run; the runner alone advances runs, one at a time.
/// </summary>
public sealed partial class PipelineRunner(
    IPipelineStore store,
    IJobStore jobs,
    IModelStore models,
    JobSubmissions submissions,
    JobScheduler scheduler,
    ModelRegistry registry,
    PipelinePlanning planning,
    Webhooks.WebhookDispatcher webhooks,
    Deployments.DeploymentChanges deploymentChanges,
    Deployments.DeploymentCatalog deploymentCatalog,
    IDeploymentStore deployments,
    TimeProvider timeProvider,
    ILogger<PipelineRunner> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Advances every unfinished run once.</summary>
    public async Task AdvanceAllAsync(CancellationToken cancellationToken)
    {
        foreach (var run in await store.ListActiveRunsAsync(cancellationToken))
        {
            try
            {
                await AdvanceAsync(run.Id, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One broken run must not hold up the others; it is tried again next round.
                LogAdvanceFailed(ex, run.Id, run.Pipeline);
            }
        }
    }

    /// <summary>Advances one run as far as it can go now and returns it as stored.</summary>
    public async Task<PipelineRun?> AdvanceAsync(string runId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var run = await store.GetRunAsync(runId, cancellationToken);
            if (run is null || run.IsFinished)
            {
                return run;
            }

            var definition = await DefinitionAsync(run, cancellationToken);
            var advanced = await StepAsync(run, definition, cancellationToken);
            return await SaveAsync(run, advanced, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stores a new run and advances it at once, so that its answer carries the plan.</summary>
    public async Task<PipelineRun> StartAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        await store.AddRunAsync(run, cancellationToken);
        LogRunCreated(run.Id, run.Pipeline, run.Version);
        try
        {
            return await AdvanceAsync(run.Id, cancellationToken) ?? run;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Stored: the runner tries again next round; the caller gets the run as it stands.
            LogAdvanceFailed(ex, run.Id, run.Pipeline);
            return await store.GetRunAsync(run.Id, cancellationToken) ?? run;
        }
    }

    /// <summary>Marks the run for cancellation and advances it (stopping its running jobs).</summary>
    public Task<PipelineRun> CancelAsync(string runId, string reason, CancellationToken cancellationToken) =>
        ChangeAsync(runId, run => run.IsFinished
            ? throw new PipelineStateException($"Run '{runId}' has already ended ({EnumNames.Lower(run.Status)}).")
            : run with { CancelRequested = reason }, cancellationToken);

    /// <summary>Runs a failed step again, with the steps after it that it had skipped.</summary>
    public Task<PipelineRun> RetryStepAsync(string runId, string stepName, CancellationToken cancellationToken) =>
        ChangeAsync(runId, run =>
        {
            if (run.Steps.All(s => s.Name != stepName))
            {
                throw new PipelineStateException($"Run '{runId}' has no step '{stepName}'.", notFound: true);
            }

            if (run.Status == PipelineRunStatus.Cancelled)
            {
                throw new PipelineStateException($"Run '{runId}' was cancelled; start a new run.");
            }

            var step = run.Step(stepName);
            if (step.Status != PipelineStepStatus.Failed)
            {
                throw new PipelineStateException($"Step '{stepName}' is {EnumNames.Lower(step.Status)}; only a failed step can be retried.");
            }

            // The step and what its failure skipped start over; what succeeded stays, and so does what
            // the failed attempts used (it counts in the run's totals and against its budget).
            var again = run.Steps.Select(s => s.Name == stepName || s.Status == PipelineStepStatus.Skipped
                ? new PipelineStepRun(s.Name, PipelineStepStatus.Pending)
                {
                    Attempts = s.Attempts,
                    EnergyJoules = s.EnergyJoules,
                    CarbonGrams = s.CarbonGrams,
                    RunNowCarbonGrams = s.RunNowCarbonGrams,
                }
                : s).ToList();
            return run with { Steps = again, Status = PipelineRunStatus.Running, StatusReason = null, FinishedAt = null };
        }, cancellationToken);

    private async Task<PipelineRun> ChangeAsync(string runId, Func<PipelineRun, PipelineRun> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var run = await store.GetRunAsync(runId, cancellationToken) ?? throw new PipelineStateException($"No pipeline run has the id '{runId}'.", notFound: true);
            var changed = change(run);
            var definition = await DefinitionAsync(changed, cancellationToken);
            var advanced = await StepAsync(changed, definition, cancellationToken);
            return await SaveAsync(run, advanced, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<PipelineRun> SaveAsync(PipelineRun stored, PipelineRun advanced, CancellationToken cancellationToken)
    {
        if (System.Text.Json.JsonSerializer.Serialize(advanced) == System.Text.Json.JsonSerializer.Serialize(stored))
        {
            return stored;
        }

        var next = advanced with { Revision = stored.Revision + 1 };
        if (!await store.UpdateRunAsync(next, cancellationToken))
        {
            throw new PipelineStateException($"Run '{stored.Id}' was changed by another writer; try again.");
        }

        if (next.IsFinished && !stored.IsFinished)
        {
            LogRunFinished(next.Id, next.Pipeline, next.Status, next.StatusReason);
            webhooks.Publish("pipeline_run.finished", new
            {
                id = next.Id,
                pipeline = next.Pipeline,
                version = next.Version,
                status = EnumNames.Lower(next.Status),
                next.StatusReason,
                steps = next.Steps.Select(s => new { s.Name, status = EnumNames.Lower(s.Status) }),
                energyJoules = next.Steps.Sum(s => s.EnergyJoules ?? 0),
                carbonGrams = next.Steps.Sum(s => s.CarbonGrams ?? 0),
            });
        }

        return next;
    }

    private async Task<PipelineDefinition> DefinitionAsync(PipelineRun run, CancellationToken cancellationToken) =>
        (await store.ListVersionsAsync(run.Pipeline, cancellationToken)).FirstOrDefault(v => v.Version == run.Version)?.Definition
        ?? throw new InvalidOperationException($"Pipeline '{run.Pipeline}' has no version {run.Version} for run '{run.Id}'.");

    /// <summary>One advance: gather, cancel, plan, decide ready steps until nothing changes, finish.</summary>
    private async Task<PipelineRun> StepAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        var statuses = Statuses(run);
        run = await CollectJobsAsync(run, definition, cancellationToken);
        if (run.CancelRequested is { } reason)
        {
            return await CancelStepsAsync(run, reason, cancellationToken);
        }

        var steps = definition.Steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var order = PipelineGraph.Create(definition).Order.Select(s => s.Name).ToList();
        for (var round = 0; round <= order.Count; round++)
        {
            // A step that changed state changes the plan of the steps after it.
            run = await planning.PlanAsync(run, definition, force: round > 0 || Statuses(run) != statuses, cancellationToken);
            if (BudgetProblem(run) is { } problem)
            {
                return await FailRunAsync(run, problem, cancellationToken);
            }

            var changed = false;
            foreach (var name in order)
            {
                var state = run.Step(name);
                if (state.Status is not (PipelineStepStatus.Pending or PipelineStepStatus.Planned) || state.JobId is not null)
                {
                    continue;
                }

                var step = steps[name];
                var before = step.DependsOn.Select(run.Step).ToList();
                if (before.Any(s => !s.IsFinished))
                {
                    continue;
                }

                var decided = await DecideAsync(run, step, state, before, cancellationToken);
                if (decided != state)
                {
                    run = run.WithStep(decided);
                    changed = true;
                }
            }

            if (!changed)
            {
                break;
            }
        }

        return Finish(run, definition);
    }

    /// <summary>What the steps' jobs did since the last advance, and how their deployments' rollouts went.</summary>
    private async Task<PipelineRun> CollectJobsAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        foreach (var state in run.Steps.Where(s => s.Status == PipelineStepStatus.Running && s.JobId is null && s.Outputs.ContainsKey("deployment")).ToList())
        {
            run = run.WithStep(await RolloutOutcomeAsync(state, cancellationToken));
        }

        foreach (var state in run.Steps.Where(s => s.JobId is not null && !s.IsFinished).ToList())
        {
            var job = await jobs.GetAsync(state.JobId!, cancellationToken);
            if (job is null)
            {
                run = run.WithStep(state with { Status = PipelineStepStatus.Failed, Reason = $"Its job {state.JobId} is gone.", FinishedAt = timeProvider.GetUtcNow() });
                continue;
            }

            var step = definition.Steps.First(s => s.Name == state.Name);
            run = run.WithStep(await FromJobAsync(run, step, state, job, cancellationToken));
        }

        return run;
    }

    private async Task<PipelineStepRun> FromJobAsync(PipelineRun run, PipelineStep step, PipelineStepRun state, JobRecord job, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        switch (job.Status)
        {
            case JobStatus.Pending or JobStatus.Held:
                return state with { Status = PipelineStepStatus.Planned, PlannedStart = job.PlannedStart, ForecastCarbonGrams = job.ForecastCarbonGrams, Reason = job.StatusReason };
            case JobStatus.Running:
                return state with { Status = PipelineStepStatus.Running, StartedAt = job.StartedAt ?? job.AssignedAt, Reason = null };
            case JobStatus.Succeeded:
                var outputs = await OutputsAsync(job, cancellationToken);
                if (outputs.Error is { } error)
                {
                    return Measured(state, job) with { Status = PipelineStepStatus.Failed, Reason = error, FinishedAt = job.FinishedAt ?? now };
                }

                var done = Measured(state, job) with { Status = PipelineStepStatus.Succeeded, Outputs = outputs.Values, Metrics = job.Metrics, FinishedAt = job.FinishedAt ?? now, Reason = null };
                if (step.Cache && done.CacheKey is { } key)
                {
                    await store.PutCacheEntryAsync(new PipelineCacheEntry(key, run.Id, step.Name, done.Outputs, done.Metrics, done.EnergyJoules, done.CarbonGrams, now), cancellationToken);
                }

                return done;
            default:
                var why = job.Error ?? job.StopReason ?? job.StatusReason ?? $"Its job ended {EnumNames.Lower(job.Status)}.";
                if (run.CancelRequested is { } cancelled)
                {
                    return Measured(state, job) with { Status = PipelineStepStatus.Skipped, Reason = cancelled, FinishedAt = job.FinishedAt ?? now };
                }

                if (state.Attempts <= step.Retries && job.Status is JobStatus.Failed or JobStatus.Stopped)
                {
                    LogRetrying(run.Id, step.Name, state.Attempts, why);
                    return Measured(state, job) with { Status = PipelineStepStatus.Pending, JobId = null, Reason = $"Attempt {state.Attempts} failed: {why}" };
                }

                return Measured(state, job) with { Status = PipelineStepStatus.Failed, Reason = why, FinishedAt = job.FinishedAt ?? now };
        }
    }

    /// <summary>A finished job's measurements, added to what earlier attempts of the step used.</summary>
    private static PipelineStepRun Measured(PipelineStepRun state, JobRecord job) => state with
    {
        StartedAt = state.StartedAt ?? job.StartedAt,
        EnergyJoules = Sum(state.EnergyJoules, job.EnergyJoules),
        CarbonGrams = Sum(state.CarbonGrams, job.CarbonGrams),
        RunNowCarbonGrams = Sum(state.RunNowCarbonGrams, job.RunNowRealisedCarbonGrams),
    };

    private static double? Sum(double? a, double? b) => a is null && b is null ? null : (a ?? 0) + (b ?? 0);

    /// <summary>What a succeeded job leaves for later steps: its id, and the model or dataset it made.</summary>
    private async Task<(IReadOnlyDictionary<string, string> Values, string? Error)> OutputsAsync(JobRecord job, CancellationToken cancellationToken)
    {
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal) { ["jobId"] = job.Id };
        if (job.Kind == TrainKind.KindName && job.Parameters.TryGetValue("registerAs", out var name))
        {
            var version = (await models.ListVersionsAsync(name, cancellationToken)).FirstOrDefault(v => v.Lineage.JobId == job.Id);
            if (version is not { Status: ModelVersionStatus.Ready })
            {
                return (outputs, version is null
                    ? $"Training job {job.Id} registered no version of '{name}'."
                    : $"{name} version {version.Version} is {version.Status.Name()}: {version.StatusMessage}");
            }

            outputs["model"] = string.Create(CultureInfo.InvariantCulture, $"models:/{name}/{version.Version}");
        }

        if (job.Kind == BatchInferKind.KindName && job.Parameters.TryGetValue("output", out var dataset))
        {
            outputs["dataset"] = dataset;
        }

        // An evaluation or a batch inference passes on the model version it resolved (not an alias,
        // which may move) and the dataset it read, so later steps name exactly what it used.
        if (!outputs.ContainsKey("model") && job.Parameters.TryGetValue("modelName", out var modelName) && job.Parameters.TryGetValue("modelVersion", out var modelVersion))
        {
            outputs["model"] = $"models:/{modelName}/{modelVersion}";
        }

        if (!outputs.ContainsKey("dataset") && job.Parameters.TryGetValue("dataset", out var input))
        {
            outputs["dataset"] = job.Parameters.TryGetValue("datasetVersion", out var datasetVersion) && !input.Contains(':', StringComparison.Ordinal)
                ? $"{input}:{datasetVersion}"
                : input;
        }

        return (outputs, null);
    }

    /// <summary>The next state of a step whose predecessors have all finished.</summary>
    private async Task<PipelineStepRun> DecideAsync(PipelineRun run, PipelineStep step, PipelineStepRun state, List<PipelineStepRun> before,
        CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (before.FirstOrDefault(s => !s.IsDone) is { } blocker)
        {
            return state with { Status = PipelineStepStatus.Skipped, Reason = $"'{blocker.Name}' {EnumNames.Lower(blocker.Status)}.", FinishedAt = now };
        }

        var context = new StepContext(run);
        try
        {
            if (step.Kind == PipelineStepKinds.Gate)
            {
                return context.Holds(step.When!)
                    ? state with { Status = PipelineStepStatus.Succeeded, Reason = $"Holds: {step.When}", StartedAt = now, FinishedAt = now }
                    : state with { Status = PipelineStepStatus.Failed, Closed = true, Reason = $"Does not hold: {step.When}", StartedAt = now, FinishedAt = now };
            }

            if (step.When is { } when && !context.Holds(when))
            {
                return state with { Status = PipelineStepStatus.Skipped, Reason = $"when does not hold: {when}", FinishedAt = now };
            }

            var parameters = step.Parameters.ToDictionary(p => p.Key, p => context.Render(p.Value), StringComparer.Ordinal);
            return step.Kind switch
            {
                PipelineStepKinds.SetAlias => await SetAliasAsync(state, parameters, now, cancellationToken),
                PipelineStepKinds.Deploy => await DeployAsync(state, parameters, now, cancellationToken),
                _ => await SubmitAsync(run, step, state, parameters, cancellationToken),
            };
        }
        catch (PipelineExpressionException ex)
        {
            return state with { Status = PipelineStepStatus.Failed, Reason = ex.Message, FinishedAt = now };
        }
    }

    /// <summary>
    /// Creates or changes the deployment the step names (parameters <c>deployment</c>, <c>model</c>,
    /// <c>targetAgents</c>, <c>targetZones</c> (comma-separated), <c>targetLabels</c>
    /// (<c>k=v,k2=v2</c>), <c>strategy</c> (all, canary, rolling: its default steps and analysis),
    /// <c>threads</c>); the step runs until the rollout is healthy, and fails if it is rolled back.
    /// </summary>
    private async Task<PipelineStepRun> DeployAsync(PipelineStepRun state, Dictionary<string, string> parameters, DateTimeOffset now, CancellationToken cancellationToken)
    {
        static List<string> List(string? text) => [.. (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        var labels = List(parameters.GetValueOrDefault("targetLabels")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        var threads = parameters.TryGetValue("threads", out var t) && int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
        var name = parameters.GetValueOrDefault("deployment") ?? "";
        var request = new Deployments.PutDeploymentRequest(parameters.GetValueOrDefault("model"),
            new Deployments.DeploymentTargetRequest(labels, List(parameters.GetValueOrDefault("targetZones")), List(parameters.GetValueOrDefault("targetAgents"))),
            threads, new Deployments.DeploymentStrategyRequest(parameters.GetValueOrDefault("strategy"), null, null));
        var (deployment, _, errors) = await deploymentChanges.PutAsync(name, request, cancellationToken);
        if (errors is not null || deployment is null)
        {
            return state with
            {
                Status = errors is null ? PipelineStepStatus.Pending : PipelineStepStatus.Failed,
                Parameters = parameters,
                Reason = errors is null ? $"Deployment '{name}' was changed meanwhile; trying again."
                    : "The deployment was refused: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
                FinishedAt = errors is null ? null : now,
            };
        }

        var outputs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["deployment"] = name,
            ["model"] = string.Create(CultureInfo.InvariantCulture, $"models:/{deployment.Current.Model}/{deployment.Current.Version}"),
            ["version"] = deployment.Current.Version.ToString(CultureInfo.InvariantCulture),
        };
        return await RolloutOutcomeAsync(state with { Status = PipelineStepStatus.Running, Parameters = parameters, Outputs = outputs, StartedAt = now, Reason = null },
            cancellationToken);
    }

    /// <summary>A deploy step succeeds once its deployment serves its version everywhere, and fails when that version is rolled back.</summary>
    private async Task<PipelineStepRun> RolloutOutcomeAsync(PipelineStepRun state, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var version = int.Parse(state.Outputs["version"], CultureInfo.InvariantCulture);
        if (await deployments.GetAsync(state.Outputs["deployment"], cancellationToken) is not { } deployment)
        {
            return state with { Status = PipelineStepStatus.Failed, Reason = $"Deployment '{state.Outputs["deployment"]}' was removed.", FinishedAt = now };
        }

        if (deployment.Current.Version != version)
        {
            return state with
            {
                Status = PipelineStepStatus.Failed,
                Reason = deployment.RolledBackReason is { } reason ? $"Rolled back: {reason}" : $"The deployment moved on to version {deployment.Current.Version}.",
                FinishedAt = now,
            };
        }

        return await deploymentCatalog.IsHealthyAsync(deployment, cancellationToken)
            ? state with { Status = PipelineStepStatus.Succeeded, Reason = $"Version {version} serves on every target agent.", FinishedAt = now }
            : state with { Reason = deployment.Rollout is { } rollout ? $"Rolling out: step {rollout.Step + 1}. {rollout.Waiting}".TrimEnd() : "Waiting for the target agents to serve it." };
    }

    private async Task<PipelineStepRun> SetAliasAsync(PipelineStepRun state, Dictionary<string, string> parameters, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var reference = parameters.GetValueOrDefault("model") ?? "";
        var alias = parameters.GetValueOrDefault("alias") ?? "";
        var version = await registry.ResolveAsync(reference, cancellationToken);
        if (version is not { Status: ModelVersionStatus.Ready } || !PipelineValidator.IsValidAlias(alias))
        {
            return state with
            {
                Status = PipelineStepStatus.Failed,
                Parameters = parameters,
                Reason = version is null ? $"'{reference}' names no model version."
                    : !PipelineValidator.IsValidAlias(alias) ? $"'{alias}' is no alias: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter."
                    : $"{version.Name} version {version.Version} is {version.Status.Name()}, not READY.",
                FinishedAt = now,
            };
        }

        await registry.SetAliasAsync(version.Name, alias, version.Version, cancellationToken);
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = string.Create(CultureInfo.InvariantCulture, $"models:/{version.Name}/{version.Version}"),
            ["alias"] = $"models:/{version.Name}@{alias}",
        };
        return state with { Status = PipelineStepStatus.Succeeded, Parameters = parameters, Outputs = outputs, StartedAt = now, FinishedAt = now, Reason = null };
    }

    /// <summary>Reuses a cached result, or submits the step as a job inside its planned window.</summary>
    private async Task<PipelineStepRun> SubmitAsync(PipelineRun run, PipelineStep step, PipelineStepRun state, Dictionary<string, string> parameters,
        CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var request = new SubmitJobRequest(
            $"{run.Pipeline}.{step.Name}",
            step.Kind,
            parameters.ToDictionary(p => p.Key, p => System.Text.Json.JsonSerializer.SerializeToElement(p.Value), StringComparer.Ordinal),
            null,
            // Late predecessors can leave no room before the deadline: the step then runs at once.
            state.LatestFinish is { } latest && latest > now ? latest : run.Deadline > now ? run.Deadline : null,
            step.EstimatedDuration is { } duration ? Durations.Format(duration) : null,
            step.EstimatedPowerWatts,
            step.Resources is { } r ? new JobResourcesRequest(r.CpuCores, r.MemoryBytes, r.Gpus) : null,
            step.Placement is { } p ? new JobPlacementRequest(new Dictionary<string, string>(p.AgentLabels), [.. p.Zones]) : null,
            step.Interruptible,
            step.CarbonBudgetGrams,
            step.EnergyBudgetJoules);
        // The job's id follows from the run, the step and the attempt, so that an advance that stored
        // the job but crashed before it stored the run finds that job again instead of submitting twice.
        var jobId = StepJobId(run.Id, step.Name, state.Attempts + 1);
        if (await jobs.GetAsync(jobId, cancellationToken) is { } submittedBefore)
        {
            return Submitted(state, parameters, step.Cache && IsCacheable(step.Kind) ? CacheKey(submittedBefore) : null,
                new SubmitOutcome(submittedBefore, submittedBefore.Status == JobStatus.Rejected), now);
        }

        var (created, errors) = await submissions.CreateAsync(request, cancellationToken);
        var job = created is null ? null : created with { Id = jobId };
        if (job is null)
        {
            return state with
            {
                Status = PipelineStepStatus.Failed,
                Parameters = parameters,
                Reason = "The step's job was refused: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
                FinishedAt = now,
            };
        }

        // The key covers what the job would compute from: its kind and its parameters as resolved,
        // which name the content hashes of its dataset and model.
        var key = step.Cache && IsCacheable(step.Kind) ? CacheKey(job) : null;
        if (key is not null && await store.FindCacheEntryAsync(key, cancellationToken) is { } hit)
        {
            LogCached(run.Id, step.Name, hit.RunId, hit.Step);
            return state with
            {
                Status = PipelineStepStatus.Cached,
                Parameters = parameters,
                CacheKey = key,
                CachedFrom = $"{hit.RunId}/{hit.Step}",
                Outputs = hit.Outputs,
                Metrics = hit.Metrics,
                EnergyJoules = 0,
                CarbonGrams = 0,
                AvoidedEnergyJoules = hit.EnergyJoules,
                AvoidedCarbonGrams = hit.CarbonGrams,
                StartedAt = now,
                FinishedAt = now,
                Reason = null,
            };
        }

        return Submitted(state, parameters, key, await scheduler.SubmitAsync(job, cancellationToken), now);
    }

    private static PipelineStepRun Submitted(PipelineStepRun state, Dictionary<string, string> parameters, string? key, SubmitOutcome outcome, DateTimeOffset now)
    {
        var submitted = state with { Parameters = parameters, CacheKey = key, JobId = outcome.Job.Id, Attempts = state.Attempts + 1 };
        return outcome.Refused
            ? submitted with { Status = PipelineStepStatus.Failed, Reason = outcome.Job.StatusReason, FinishedAt = now }
            : submitted with { Status = PipelineStepStatus.Planned, PlannedStart = outcome.Job.PlannedStart, ForecastCarbonGrams = outcome.Job.ForecastCarbonGrams, Reason = outcome.Job.StatusReason };
    }

    /// <summary>The id of the job of a step's attempt: as long as a random id, and as unguessable as the run's.</summary>
    internal static string StepJobId(string runId, string step, int attempt) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{runId}\n{step}\n{attempt.ToString(CultureInfo.InvariantCulture)}")).AsSpan(0, 12));

    /// <summary>
    /// Kinds whose result is a function of their inputs: a train with the same dataset, parameters
    /// and seed makes the same model, an evaluation the same metrics, an inference the same
    /// predictions. <c>burn</c>, <c>serve</c> and <c>profile</c> are work done (or measured) on an
    /// agent at a time, not a result: they always run.
    /// </summary>
    public static bool IsCacheable(string kind) => kind is TrainKind.KindName or EvaluateKind.KindName or BatchInferKind.KindName;

    internal static string CacheKey(JobRecord job)
    {
        // Canonical JSON (sorted keys, escaped values), so that no two different inputs encode alike.
        var canonical = System.Text.Json.JsonSerializer.Serialize(new
        {
            kind = job.Kind,
            parameters = new SortedDictionary<string, string>(job.Parameters.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal),
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>The run's budgets against what it used plus what the rest is forecast to use.</summary>
    private static string? BudgetProblem(PipelineRun run)
    {
        if (run.CarbonBudgetGrams is { } carbon && run.ForecastCarbonGrams is { } forecast && forecast > carbon)
        {
            return string.Create(CultureInfo.InvariantCulture, $"The run would emit {forecast:0.###} g CO₂e as planned, over its carbon budget of {carbon:0.###} g.");
        }

        if (run.EnergyBudgetJoules is { } energy && run.ForecastEnergyJoules is { } joules && joules > energy)
        {
            return string.Create(CultureInfo.InvariantCulture, $"The run would use {joules:0.#} J as planned, over its energy budget of {energy:0.#} J.");
        }

        return null;
    }

    /// <summary>Fails the run over its budget: its unstarted steps are skipped, its jobs stopped (what they used still counts).</summary>
    private async Task<PipelineRun> FailRunAsync(PipelineRun run, string reason, CancellationToken cancellationToken)
    {
        var stopped = await CancelStepsAsync(run with { CancelRequested = reason }, reason, cancellationToken);
        return stopped.IsFinished ? stopped with { Status = PipelineRunStatus.Failed } : stopped;
    }

    /// <summary>
    /// Skips the run's unstarted steps and stops its jobs. The run ends (cancelled) once those jobs
    /// have ended, so that what they used until then is collected into its totals.
    /// </summary>
    private async Task<PipelineRun> CancelStepsAsync(PipelineRun run, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var state in run.Steps.Where(s => !s.IsFinished))
        {
            if (state.JobId is not { } jobId)
            {
                run = run.WithStep(state with { Status = PipelineStepStatus.Skipped, Reason = reason, FinishedAt = now });
                continue;
            }

            if (await jobs.GetAsync(jobId, cancellationToken) is { IsFinished: false, StopReason: null })
            {
                try
                {
                    await scheduler.CancelAsync(jobId, cancellationToken);
                }
                catch (JobStateException)
                {
                    // It ended meanwhile: the next advance collects it.
                }
            }
        }

        return run.Steps.All(s => s.IsFinished)
            ? run with { Status = PipelineRunStatus.Cancelled, StatusReason = reason, FinishedAt = now }
            : run with { Status = PipelineRunStatus.Running, StatusReason = $"{reason} Waiting for its jobs to stop." };
    }

    /// <summary>Ends the run once every step has: failed if a step (other than a gate) failed.</summary>
    private PipelineRun Finish(PipelineRun run, PipelineDefinition definition)
    {
        var running = run.Steps.Any(s => s.Status is not PipelineStepStatus.Pending);
        if (!run.Steps.All(s => s.IsFinished))
        {
            return run.Status == PipelineRunStatus.Pending && running ? run with { Status = PipelineRunStatus.Running } : run;
        }

        var steps = run.Steps;
        // A gate that could not evaluate its condition failed; one whose condition was false decided.
        var failed = steps.Where(s => s.Status == PipelineStepStatus.Failed && !(IsGate(s.Name) && s.Closed)).ToList();
        var closed = steps.Where(s => s.Status == PipelineStepStatus.Failed && IsGate(s.Name) && s.Closed).ToList();
        return run with
        {
            Status = failed.Count > 0 ? PipelineRunStatus.Failed : PipelineRunStatus.Succeeded,
            StatusReason = failed.Count > 0 ? $"Step '{failed[0].Name}' failed: {failed[0].Reason}"
                : closed.Count > 0 ? $"Gate '{closed[0].Name}' stopped its branch: {closed[0].Reason}"
                : null,
            FinishedAt = timeProvider.GetUtcNow(),
        };

        bool IsGate(string name) => definition.Steps.Any(s => s.Name == name && s.Kind == PipelineStepKinds.Gate);
    }

    private static string Statuses(PipelineRun run) => string.Join(",", run.Steps.Select(s => $"{s.Name}:{s.Status}:{s.JobId}"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline run {RunId} of {Pipeline} version {Version} created")]
    private partial void LogRunCreated(string runId, string pipeline, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline run {RunId} of {Pipeline} ended {Status}: {Reason}")]
    private partial void LogRunFinished(string runId, string pipeline, PipelineRunStatus status, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline run {RunId}: step {Step} reuses the result of {CachedRun}/{CachedStep}")]
    private partial void LogCached(string runId, string step, string cachedRun, string cachedStep);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline run {RunId}: step {Step} attempt {Attempt} failed and will be retried: {Reason}")]
    private partial void LogRetrying(string runId, string step, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Advancing pipeline run {RunId} of {Pipeline} failed; it is tried again next round")]
    private partial void LogAdvanceFailed(Exception exception, string runId, string pipeline);
}

/// <summary>A run change that the run's state does not allow, or a run or step that does not exist.</summary>
public sealed class PipelineStateException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}
