using System.Text.Json;
using EdgeGreen.Shared.Jobs;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Registry;

/// <summary>
/// The model registry: a <c>train</c> job with <c>registerAs</c> gets its version number when it
/// is accepted (PENDING_REGISTRATION while it waits and runs), which becomes READY when the agent
/// verified the ONNX export and uploaded it, FAILED with the reason otherwise; each version carries
/// its lineage (job, dataset version and hash, trainer, hyperparameters) and its cost (training
/// energy, carbon and the grid intensity it ran under); aliases and tags on models, tags on versions.
/// </summary>
public sealed partial class ModelRegistry(IModelStore models, ContentStore content, Core.Webhooks.WebhookDispatcher webhooks, TimeProvider clock, ILogger<ModelRegistry> logger) : IJobLifecycleHandler
{
    public async Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken)
    {
        if (job.Kind != TrainKind.KindName || !job.Parameters.TryGetValue("registerAs", out var name))
        {
            return;
        }

        var (version, created) = await models.AddVersionAsync(name, number => new ModelVersionRecord(
            name, number, ModelVersionStatus.PendingRegistration, $"Waiting for training job {job.Id}.", clock.GetUtcNow(), null, 0, "onnx", [], [],
            new Dictionary<string, double>(), Lineage(job, null, job.Parameters
                .Where(p => p.Key.StartsWith(TrainerCatalog.HyperparameterPrefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Key[TrainerCatalog.HyperparameterPrefix.Length..], p => p.Value)),
            new ModelSustainability(null, null, null, null), new Dictionary<string, string>()), clock.GetUtcNow(), cancellationToken);
        if (created)
        {
            LogPending(version.Name, version.Version, job.Id);
        }
    }

    public async Task OnCompletedAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        if (job.Kind == ProfileKind.KindName)
        {
            await RecordProfileAsync(job, report, cancellationToken);
            return;
        }

        if (job.Kind != TrainKind.KindName || !job.Parameters.TryGetValue("registerAs", out var name) || !job.IsFinished)
        {
            return;
        }

        var output = report?.Output ?? new JobOutput();
        var ready = job.Status == JobStatus.Succeeded && output.Status == "READY" && content.Exists(output.ArtifactSha256);
        var message = ready ? null
            : report is null ? $"Training job {job.Id} ended without running ({job.Status.ToString().ToLowerInvariant()}): {job.StatusReason}"
            : job.Status == JobStatus.Failed ? $"Training failed: {job.Error}"
            : job.Status != JobStatus.Succeeded ? $"Training job {job.Id} was {job.Status.ToString().ToLowerInvariant()}: {job.StatusReason}"
            : output.StatusMessage is { Length: > 0 } reason ? reason
            : $"The model artifact {output.ArtifactSha256} was not uploaded.";
        var hyperparameters = output.Details.TryGetValue("hyperparameters", out var json) ? Hyperparameters(json) : [];
        ModelVersionRecord Final(int number, DateTimeOffset createdAt, IReadOnlyDictionary<string, string> tags) => new(
            name,
            number,
            ready ? ModelVersionStatus.Ready : ModelVersionStatus.Failed,
            message,
            createdAt,
            ready ? output.ArtifactSha256 : null,
            ready ? output.ArtifactSizeBytes : 0,
            "onnx",
            [.. output.Inputs.Select(Tensor)],
            [.. output.Outputs.Select(Tensor)],
            new Dictionary<string, double>(output.Metrics),
            Lineage(job, output.Details.GetValueOrDefault("trainer"), hyperparameters),
            new ModelSustainability(job.EnergyJoules, job.CarbonGrams, job.RealisedIntensityGramsPerKwh, null, TrainingEmbodiedCarbonGrams: job.EmbodiedCarbonGrams),
            tags);

        var (version, created) = await models.AddVersionAsync(name, number => Final(number, clock.GetUtcNow(), new Dictionary<string, string>()),
            clock.GetUtcNow(), cancellationToken);
        if (!created)
        {
            if (version.Status != ModelVersionStatus.PendingRegistration)
            {
                return;
            }

            version = Final(version.Version, version.CreatedAt, version.Tags);
            await models.UpdateVersionAsync(version, cancellationToken);
        }

        LogRegistered(version.Name, version.Version, version.Status, job.Id);
        PublishVersion(version);
    }

    private static ModelLineage Lineage(JobRecord job, string? trainer, IReadOnlyDictionary<string, string> hyperparameters) =>
        new(job.Id, job.Parameters.GetValueOrDefault("dataset"),
            int.TryParse(job.Parameters.GetValueOrDefault("datasetVersion"), out var datasetVersion) ? datasetVersion : null,
            job.Parameters.GetValueOrDefault("datasetSha256"), trainer ?? job.Parameters.GetValueOrDefault("trainer", "fasttree"), hyperparameters);

    private static Dictionary<string, string> Hyperparameters(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>
    /// Registers an ONNX file EdgeGreen did not train as the next version of <paramref name="name"/>:
    /// the bytes must load in ONNX Runtime (its inputs and outputs become the version's schema).
    /// </summary>
    /// <exception cref="ModelRejectedException">The name or the file is not acceptable; nothing was stored.</exception>
    public async Task<ModelVersionRecord> RegisterUploadAsync(string name, Stream onnx, long maxBytes, CancellationToken cancellationToken)
    {
        if (!ResourceNames.IsValid(name))
        {
            throw new ModelRejectedException("name", ResourceNames.Rule);
        }

        StagedContent staged;
        try
        {
            staged = await content.StageAsync(onnx, maxBytes, cancellationToken);
        }
        catch (ContentTooLargeException ex)
        {
            throw new ModelRejectedException("body", ex.Message);
        }

        using (staged)
        {
            List<ModelTensor> inputs, outputs;
            try
            {
                using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(staged.Path);
                inputs = [.. session.InputMetadata.Select(m => new ModelTensor(m.Key, m.Value.ElementType.Name, [.. m.Value.Dimensions.Select(d => (long)d)]))];
                outputs = [.. session.OutputMetadata.Select(m => new ModelTensor(m.Key, m.Value.ElementType.Name, [.. m.Value.Dimensions.Select(d => (long)d)]))];
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException ex)
            {
                throw new ModelRejectedException("body", $"ONNX Runtime cannot load the file: {ex.Message}");
            }

            content.Commit(staged);
            var (version, _) = await models.AddVersionAsync(name, number => new ModelVersionRecord(
                name, number, ModelVersionStatus.Ready, null, clock.GetUtcNow(), staged.Sha256, staged.SizeBytes, "onnx", inputs, outputs,
                new Dictionary<string, double>(), new ModelLineage(null, null, null, null, null, new Dictionary<string, string>()),
                new ModelSustainability(null, null, null, null), new Dictionary<string, string>()), clock.GetUtcNow(), cancellationToken);
            LogRegistered(version.Name, version.Version, version.Status, "upload");
            PublishVersion(version);
            return version;
        }
    }

    /// <summary>
    /// Stores a finished profile on the version it measured: the recommended serving configuration
    /// and the SCI per 1,000 inferences, (E × I) + M with E the recommended configuration's energy
    /// per 1,000 inferences in kWh, I the grid intensity the profile ran under and M the embodied
    /// share the agent worked out (0 where it has no embodied figure, which the terms show as null).
    /// </summary>
    private async Task RecordProfileAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        if (job.Status != JobStatus.Succeeded || report?.Output is not { } output
            || !output.Details.TryGetValue("recommended", out var recommendedJson) || !output.Details.TryGetValue("profile", out var profileJson)
            || !int.TryParse(job.Parameters.GetValueOrDefault("modelVersion"), out var number)
            || await models.GetVersionAsync(job.Parameters.GetValueOrDefault("modelName", ""), number, cancellationToken) is not { } version)
        {
            return;
        }

        var recommended = JsonSerializer.Deserialize<ServingMeasurement>(recommendedJson, JsonSerializerOptions.Web)!;
        var measured = JsonSerializer.Deserialize<List<ServingMeasurement>>(profileJson, JsonSerializerOptions.Web) ?? [];
        var terms = job.RealisedIntensityGramsPerKwh is { } intensity
            ? SciTerms.FromJoules(recommended.JoulesPer1kInferences, intensity, recommended.EmbodiedGramsPer1kInferences, "1000 inferences")
            : null;
        await models.UpdateVersionAsync(version with
        {
            Sustainability = version.Sustainability with
            {
                SciPer1kInferencesGrams = terms?.Grams(),
                Sci = terms,
            },
            Serving = new ServingProfile(job.Id, job.AgentId, job.FinishedAt ?? clock.GetUtcNow(), recommended, measured),
        }, cancellationToken);
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="version"/>, moving it from any other version.</summary>
    public async Task<ModelRecord?> SetAliasAsync(string name, string alias, int version, CancellationToken cancellationToken)
    {
        if (await models.GetModelAsync(name, cancellationToken) is not { } model || await models.GetVersionAsync(name, version, cancellationToken) is null)
        {
            return null;
        }

        var updated = model with { Aliases = new Dictionary<string, int>(model.Aliases) { [alias] = version } };
        await models.UpdateModelAsync(updated, cancellationToken);
        LogAliasMoved(name, alias, version);
        webhooks.Publish("alias.moved", new { model = name, alias, version, previousVersion = model.Aliases.TryGetValue(alias, out var previous) ? previous : (int?)null });
        return updated;
    }

    /// <summary>Removes an alias; false when the model or the alias does not exist.</summary>
    public async Task<bool> DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken)
    {
        if (await models.GetModelAsync(name, cancellationToken) is not { } model || !model.Aliases.ContainsKey(alias))
        {
            return false;
        }

        var aliases = new Dictionary<string, int>(model.Aliases);
        aliases.Remove(alias);
        return await models.UpdateModelAsync(model with { Aliases = aliases }, cancellationToken);
    }

    /// <summary>
    /// The version a reference names: <c>models:/name/3</c> or <c>models:/name@alias</c>; null when
    /// it is not a reference or names nothing.
    /// </summary>
    public async Task<ModelVersionRecord?> ResolveAsync(string reference, CancellationToken cancellationToken)
    {
        const string Scheme = "models:/";
        if (!reference.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return null;
        }

        var path = reference[Scheme.Length..];
        if (path.Split('@') is [var aliased, var alias])
        {
            return await models.GetModelAsync(aliased, cancellationToken) is { } model && model.Aliases.TryGetValue(alias, out var target)
                ? await models.GetVersionAsync(aliased, target, cancellationToken)
                : null;
        }

        return path.Split('/') is [var name, var number] && int.TryParse(number, out var version)
            ? await models.GetVersionAsync(name, version, cancellationToken)
            : null;
    }

    private void PublishVersion(ModelVersionRecord version) =>
        webhooks.Publish(version.Status == ModelVersionStatus.Ready ? "model_version.ready" : "model_version.failed",
            new { model = version.Name, version = version.Version, status = version.Status.Name(), version.StatusMessage, version.Sha256, version.Metrics });

    private static ModelTensor Tensor(TensorSpec spec) => new(spec.Name, spec.ElementType, [.. spec.Shape]);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Name} version {Version} is pending registration until job {JobId} ends")]
    private partial void LogPending(string name, int version, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered {Name} version {Version} ({Status}) from job {JobId}")]
    private partial void LogRegistered(string name, int version, ModelVersionStatus status, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alias {Alias} of {Name} now points at version {Version}")]
    private partial void LogAliasMoved(string name, string alias, int version);
}

/// <summary>A model upload refused, with the field at fault and why.</summary>
public sealed class ModelRejectedException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
