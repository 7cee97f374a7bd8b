namespace EdgeGreen.Shared.Jobs;

/// <summary>What the kinds that run a registered model (batch-infer, evaluate, profile, serve) share in their parameters.</summary>
public static class ModelJobParameters
{
    /// <summary>The parameters the control plane adds when it resolves <c>model</c> and <c>dataset</c>.</summary>
    public static readonly string[] Resolved = ["modelSha256", "modelName", "modelVersion", "datasetSha256", "datasetVersion"];

    /// <summary>Checks <c>model</c>, <c>dataset</c> (as the kind uses one) and that no parameter is unknown to <paramref name="kind"/>.</summary>
    public static Dictionary<string, string> Validate(string kind, IReadOnlyDictionary<string, string> parameters, IReadOnlyCollection<string> own,
        DatasetUse dataset = DatasetUse.Required)
    {
        var takesDataset = dataset != DatasetUse.None;
        var errors = new Dictionary<string, string>();
        if (!parameters.TryGetValue("model", out var model) || !model.StartsWith("models:/", StringComparison.Ordinal))
        {
            errors["model"] = "model is required: models:/NAME/VERSION or models:/NAME@ALIAS.";
        }

        if (dataset == DatasetUse.Required ? string.IsNullOrWhiteSpace(parameters.GetValueOrDefault("dataset"))
            : dataset == DatasetUse.Optional && parameters.TryGetValue("dataset", out var named) && string.IsNullOrWhiteSpace(named))
        {
            errors["dataset"] = "dataset is required: a dataset name, or name:version.";
        }

        bool Known(string key) => key == "model" || own.Contains(key)
            || (Resolved.Contains(key) && (takesDataset || key.StartsWith("model", StringComparison.Ordinal)))
            || (takesDataset && key == "dataset");
        foreach (var key in parameters.Keys.Where(k => !Known(k)))
        {
            errors[key] = $"{kind} does not take '{key}'.";
        }

        return errors;
    }
}

/// <summary>Whether a model kind reads a dataset.</summary>
public enum DatasetUse
{
    Required,
    Optional,
    None,
}
