using System.Globalization;

namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// <c>train</c>: fits an ML.NET model on a dataset and exports it to verified ONNX. Parameters (all
/// scalars): <c>dataset</c> (name, or name:version; the control plane adds <c>datasetSha256</c>),
/// <c>label</c>, <c>task</c> (binary | multiclass | regression), <c>trainer</c> (fasttree |
/// lightgbm | sdca, default fasttree), <c>features</c> and <c>ignore</c> (comma-separated column
/// names), <c>validationFraction</c> (default 0.2), <c>registerAs</c> (a model name), <c>seed</c>,
/// and <c>hyperparameters.NAME</c> for each trainer option set.
/// </summary>
public sealed class TrainKind : JobKind
{
    public const string KindName = "train";

    private static readonly string[] Tasks = ["binary", "multiclass", "regression"];
    private static readonly string[] Known = ["dataset", "datasetSha256", "datasetVersion", "label", "task", "trainer", "features", "ignore", "validationFraction", "registerAs", "seed"];

    public override string Name => KindName;

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = new Dictionary<string, string>();
        Require(parameters, "dataset", errors, "dataset is required: a dataset name, or name:version.");
        Require(parameters, "label", errors, "label is required: the column to predict.");
        if (!parameters.TryGetValue("task", out var task) || !Tasks.Contains(task))
        {
            errors["task"] = $"task is required: one of {string.Join(", ", Tasks)}.";
        }
        else if (parameters.TryGetValue("trainer", out var trainer) && !TrainerCatalog.Supports(task, trainer))
        {
            errors["trainer"] = $"trainer for {task} must be one of: {string.Join(", ", TrainerCatalog.TrainersFor(task))}.";
        }

        if (parameters.TryGetValue("validationFraction", out var fraction)
            && !(double.TryParse(fraction, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f is > 0 and < 1))
        {
            errors["validationFraction"] = "validationFraction must be a number between 0 and 1 (exclusive).";
        }

        if (parameters.TryGetValue("registerAs", out var model) && !ResourceNames.IsValid(model))
        {
            errors["registerAs"] = ResourceNames.Rule;
        }

        if (parameters.TryGetValue("datasetSha256", out var sha) && !(sha.Length == 64 && sha.All(char.IsAsciiHexDigitLower)))
        {
            errors["datasetSha256"] = "datasetSha256 must be 64 lower-case hex digits.";
        }

        foreach (var key in parameters.Keys.Where(k => !Known.Contains(k) && !k.StartsWith(TrainerCatalog.HyperparameterPrefix, StringComparison.Ordinal)))
        {
            errors[key] = $"train does not take '{key}'.";
        }

        foreach (var (key, value) in parameters.Where(p => p.Key.StartsWith(TrainerCatalog.HyperparameterPrefix, StringComparison.Ordinal)))
        {
            if (TrainerCatalog.CheckHyperparameter(parameters.GetValueOrDefault("trainer", "fasttree"), key[TrainerCatalog.HyperparameterPrefix.Length..], value) is { } problem)
            {
                errors[key] = problem;
            }
        }

        return errors;
    }

    private static void Require(IReadOnlyDictionary<string, string> parameters, string name, Dictionary<string, string> errors, string message)
    {
        if (!parameters.TryGetValue(name, out var value) || string.IsNullOrWhiteSpace(value))
        {
            errors[name] = message;
        }
    }
}
