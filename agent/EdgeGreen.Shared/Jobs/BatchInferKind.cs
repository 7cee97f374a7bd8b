using System.Globalization;

namespace EdgeGreen.Shared.Jobs;

/// <summary><c>batch-infer</c>: a registered <c>model</c> over every row of a <c>dataset</c>, predictions stored as the dataset <c>output</c>, in batches of <c>batchSize</c> (default 1024).</summary>
public sealed class BatchInferKind : JobKind
{
    public const string KindName = "batch-infer";

    public override string Name => KindName;

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = ModelJobParameters.Validate(KindName, parameters, ["output", "batchSize"]);
        if (!ResourceNames.IsValid(parameters.GetValueOrDefault("output")))
        {
            errors["output"] = "output (the predictions dataset) is required: " + ResourceNames.Rule;
        }

        if (parameters.TryGetValue("batchSize", out var size) && !(int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 65_536))
        {
            errors["batchSize"] = "batchSize must be a whole number from 1 to 65536.";
        }

        return errors;
    }
}
