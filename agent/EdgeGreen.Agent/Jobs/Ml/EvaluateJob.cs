using System.Globalization;
using Microsoft.ML;
using EdgeGreen.Agent.Datasets;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// <c>evaluate</c>: a registered model's metrics on a dataset. Parameters: <c>model</c>
/// (<c>models:/name/3</c> or <c>models:/name@alias</c>), <c>dataset</c>, <c>label</c> (the column
/// holding the truth), <c>task</c> (binary | regression). The model runs over every row as in
/// <c>batch-infer</c>; ML.NET's evaluators score its outputs against the label: AUC, accuracy, F1
/// and log-loss from <c>Probability</c>/<c>Score</c>/<c>PredictedLabel</c> (binary), RMSE, MAE and
/// R² from <c>Score</c> (regression).
/// </summary>
public sealed class EvaluateJob : IJobKind
{
    public const string KindName = "evaluate";

    public string Name => KindName;

    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = ModelJobs.Validate(KindName, parameters, ["label", "task"]);
        if (string.IsNullOrWhiteSpace(parameters.GetValueOrDefault("label")))
        {
            errors["label"] = "label is required: the column holding the truth.";
        }

        if (parameters.GetValueOrDefault("task") is not ("binary" or "regression"))
        {
            errors["task"] = "task is required: binary or regression (multiclass evaluation is not supported yet).";
        }

        return errors;
    }

    public TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters) => null;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        var (modelPath, csvPath, tracking) = await ModelJobs.PrepareAsync(this, execution, cancellationToken);
        using var tracked = tracking;
        execution.ReportPhase("inferring");
        var predictions = Path.Combine(execution.WorkDirectory, "predictions.csv");
        await Task.Run(() => BatchInferJob.Infer(modelPath, csvPath, predictions, 1024, execution.ReportProgress, cancellationToken, execution.InferenceProvider), cancellationToken);

        execution.ReportPhase("evaluating");
        var metrics = Evaluate(csvPath, predictions, execution.Parameters["label"], execution.Parameters["task"]);
        execution.Output.Status = "READY";
        execution.Output.Metrics.Add(metrics);
        execution.ReportProgress(1);
    }

    internal static Dictionary<string, double> Evaluate(string datasetPath, string predictionsPath, string label, string task)
    {
        var truth = Column(datasetPath, label) ?? throw new ArgumentException($"The dataset has no column '{label}' (label).");
        var scores = Column(predictionsPath, "Score") ?? throw new ArgumentException("The model has no Score output; evaluate needs a model trained by EdgeGreen (or with ML.NET's output names).");
        var ml = new MLContext(seed: 1);
        if (task == "regression")
        {
            var view = ml.Data.LoadFromEnumerable(truth.Zip(scores, (t, s) => new RegressionRow { Label = Number(t), Score = Number(s) }));
            var regression = ml.Regression.Evaluate(view);
            return new() { ["rmse"] = regression.RootMeanSquaredError, ["mae"] = regression.MeanAbsoluteError, ["r2"] = regression.RSquared, ["rows"] = truth.Count };
        }

        var probabilities = Column(predictionsPath, "Probability") ?? throw new ArgumentException("The model has no Probability output; a binary evaluation needs one.");
        var predicted = Column(predictionsPath, "PredictedLabel") ?? [.. probabilities.Select(p => Number(p) > 0.5 ? "1" : "0")];
        var rows = truth.Select((t, i) => new BinaryRow
        {
            Label = t.ToLowerInvariant() is "1" or "true" or "yes",
            Score = Number(scores[i]),
            Probability = Number(probabilities[i]),
            PredictedLabel = Number(predicted[i]) > 0.5,
        });
        var binary = ml.BinaryClassification.Evaluate(ml.Data.LoadFromEnumerable(rows));
        return new() { ["auc"] = binary.AreaUnderRocCurve, ["accuracy"] = binary.Accuracy, ["f1"] = binary.F1Score, ["logLoss"] = binary.LogLoss, ["rows"] = truth.Count };
    }

    private static float Number(string text) => float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : float.NaN;

    /// <summary>One column of a CSV as text, or null when the CSV has no such column.</summary>
    private static List<string>? Column(string path, string name)
    {
        using var parser = DatasetSchema.OpenCsv(path, out var header);
        var index = Array.IndexOf(header, name);
        if (index < 0)
        {
            return null;
        }

        var values = new List<string>();
        while (DatasetSchema.ReadRow(parser) is { } row)
        {
            values.Add(row[index]);
        }

        return values;
    }

    private sealed class BinaryRow
    {
        public bool Label { get; set; }

        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    private sealed class RegressionRow
    {
        public float Label { get; set; }

        public float Score { get; set; }
    }
}
