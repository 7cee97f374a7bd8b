using System.Globalization;

namespace EdgeGreen.Shared.Jobs;

/// <summary>The ML.NET trainers a <c>train</c> job offers for each task, and the hyperparameters each takes.</summary>
public static class TrainerCatalog
{
    public const string HyperparameterPrefix = "hyperparameters.";

    private static readonly Dictionary<string, string[]> Trainers = new()
    {
        ["binary"] = ["fasttree", "lightgbm", "sdca"],
        ["multiclass"] = ["lightgbm", "sdca"],
        ["regression"] = ["fasttree", "lightgbm", "sdca"],
    };

    private static readonly Dictionary<string, Dictionary<string, bool>> Hyperparameters = new()
    {
        // name → whether it is a whole number
        ["fasttree"] = new() { ["numberOfTrees"] = true, ["numberOfLeaves"] = true, ["minimumExampleCountPerLeaf"] = true, ["learningRate"] = false },
        ["lightgbm"] = new() { ["numberOfIterations"] = true, ["numberOfLeaves"] = true, ["minimumExampleCountPerLeaf"] = true, ["learningRate"] = false },
        ["sdca"] = new() { ["maximumNumberOfIterations"] = true, ["l1Regularization"] = false, ["l2Regularization"] = false },
    };

    public static bool Supports(string task, string trainer) => Trainers.TryGetValue(task, out var names) && names.Contains(trainer);

    public static IReadOnlyList<string> TrainersFor(string task) => Trainers.GetValueOrDefault(task) ?? [];

    /// <returns>Null when the hyperparameter is one the trainer takes with a valid value, else why not.</returns>
    public static string? CheckHyperparameter(string trainer, string name, string value)
    {
        if (!Hyperparameters.TryGetValue(trainer, out var known) || !known.TryGetValue(name, out var whole))
        {
            return $"{trainer} takes the hyperparameters {string.Join(", ", (IEnumerable<string>?)Hyperparameters.GetValueOrDefault(trainer)?.Keys ?? [])}.";
        }

        var valid = whole
            ? int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) && x >= 0;
        return valid ? null : $"{name} must be a {(whole ? "positive whole number" : "non-negative number")}.";
    }
}
