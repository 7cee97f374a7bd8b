namespace EdgeGreen.Shared.Jobs;

/// <summary><c>evaluate</c>: a registered <c>model</c>'s metrics on a <c>dataset</c> against its <c>label</c> column, for a <c>task</c> (binary | multiclass | regression).</summary>
public sealed class EvaluateKind : JobKind
{
    public const string KindName = "evaluate";

    public override string Name => KindName;

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = ModelJobParameters.Validate(KindName, parameters, ["label", "task"]);
        if (string.IsNullOrWhiteSpace(parameters.GetValueOrDefault("label")))
        {
            errors["label"] = "label is required: the column holding the truth.";
        }

        if (parameters.GetValueOrDefault("task") is not ("binary" or "multiclass" or "regression"))
        {
            errors["task"] = "task is required: binary, multiclass or regression.";
        }

        return errors;
    }
}
