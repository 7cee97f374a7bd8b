namespace EdgeGreen.ControlPlane.Core.Storage;

public enum ModelVersionStatus
{
    PendingRegistration,
    Ready,
    Failed,
}

public static class ModelVersionStatusNames
{
    /// <summary>The status as the API and events spell it (MLflow's names).</summary>
    public static string Name(this ModelVersionStatus status) => status switch
    {
        ModelVersionStatus.PendingRegistration => "PENDING_REGISTRATION",
        ModelVersionStatus.Ready => "READY",
        _ => "FAILED",
    };
}

/// <summary>A registered model: its versions are numbered from 1; aliases name versions.</summary>
public sealed record ModelRecord(string Name, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, string> Tags, IReadOnlyDictionary<string, int> Aliases);

/// <summary>Where a version came from.</summary>
public sealed record ModelLineage(string? JobId, string? Dataset, int? DatasetVersion, string? DatasetSha256, string? Trainer, IReadOnlyDictionary<string, string> Hyperparameters);

/// <summary>What a version cost to make, and (once profiled) to serve: SCI per 1,000 inferences, with its terms in <paramref name="Sci"/>.</summary>
public sealed record ModelSustainability(double? TrainingEnergyJoules, double? TrainingCarbonGrams, double? IntensityGramsPerKwh, double? SciPer1kInferencesGrams,
    SciTerms? Sci = null, double? TrainingEmbodiedCarbonGrams = null);

/// <summary>
/// The terms of an SCI score, reported apart as ISO/IEC 21031 asks: SCI = (E × I + M) per R, with E
/// in kWh, I in gCO₂e/kWh, M in grams (null when the agent's embodied emissions are not
/// configured, and then not counted) and R the functional unit.
/// </summary>
public sealed record SciTerms(double EnergyKwh, double IntensityGramsPerKwh, double? EmbodiedGrams, string FunctionalUnit)
{
    public static SciTerms FromJoules(double energyJoules, double intensityGramsPerKwh, double? embodiedGrams, string functionalUnit) =>
        new(energyJoules / Jobs.JobAccounting.JoulesPerKwh, intensityGramsPerKwh, embodiedGrams, functionalUnit);

    /// <summary>The score: E × I + M (M as 0 where it is not known).</summary>
    public double Grams() => (EnergyKwh * IntensityGramsPerKwh) + (EmbodiedGrams ?? 0);
}

public sealed record ModelTensor(string Name, string ElementType, IReadOnlyList<long> Shape);

public sealed record ModelVersionRecord(
    string Name,
    int Version,
    ModelVersionStatus Status,
    string? StatusMessage,
    DateTimeOffset CreatedAt,
    string? Sha256,
    long SizeBytes,
    string Format,
    IReadOnlyList<ModelTensor> Inputs,
    IReadOnlyList<ModelTensor> Outputs,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    ModelSustainability Sustainability,
    IReadOnlyDictionary<string, string> Tags)
{
    /// <summary>The serving configuration a <c>profile</c> job measured and recommends; null until profiled.</summary>
    public ServingProfile? Serving { get; init; }
}

/// <summary>One measured serving configuration (ONNX Runtime on an agent).</summary>
public sealed record ServingMeasurement(int BatchSize, int Threads, double InferencesPerSecond, double P50Milliseconds, double P99Milliseconds, double JoulesPer1kInferences,
    double? EmbodiedGramsPer1kInferences = null);

/// <summary>What a profile measured, where, and the configuration it recommends.</summary>
public sealed record ServingProfile(string JobId, string? AgentId, DateTimeOffset MeasuredAt, ServingMeasurement Recommended, IReadOnlyList<ServingMeasurement> Measured);

public interface IModelStore
{
    /// <summary>
    /// Adds the next version of the named model (creating the model on its first version); the
    /// <paramref name="version"/> factory receives the number. When a version made by the same job
    /// exists, returns it instead (registration is idempotent per job).
    /// </summary>
    Task<(ModelVersionRecord Version, bool Created)> AddVersionAsync(string name, Func<int, ModelVersionRecord> version, DateTimeOffset now, CancellationToken cancellationToken);

    Task<ModelRecord?> GetModelAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<ModelRecord>> ListModelsAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    Task<ModelVersionRecord?> GetVersionAsync(string name, int version, CancellationToken cancellationToken);

    /// <summary>Replaces the model's tags and aliases. False when there is no such model.</summary>
    Task<bool> UpdateModelAsync(ModelRecord model, CancellationToken cancellationToken);

    /// <summary>Replaces a version (its tags). False when there is no such version.</summary>
    Task<bool> UpdateVersionAsync(ModelVersionRecord version, CancellationToken cancellationToken);
}
