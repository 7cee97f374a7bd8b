using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using EdgeGreen.Shared.Datasets;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// <c>evaluate</c>: a registered model's metrics on a dataset. Parameters: <c>model</c>
/// (<c>models:/name/3</c> or <c>models:/name@alias</c>), <c>dataset</c>, <c>label</c> (the column
/// holding the truth), <c>task</c> (binary | multiclass | regression). The model runs over every row
/// as in <c>batch-infer</c>; ML.NET's evaluators score its outputs against the label: AUC, accuracy,
/// F1 and log-loss from <c>Probability</c>/<c>Score</c>/<c>PredictedLabel</c> (binary); accuracy,
/// macro accuracy and log-loss from the <c>Score</c> vector, whose classes the model names in its
/// metadata (multiclass); RMSE, MAE and R² from <c>Score</c> (regression).
/// </summary>
public sealed class EvaluateJob : IJobKind
{

    public JobKind Spec => JobKinds.Evaluate;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        var (modelPath, datasetPath, tracking) = await ModelJobs.PrepareAsync(this, execution, cancellationToken);
        var csvPath = datasetPath!;
        using var tracked = tracking;
        execution.ReportPhase("inferring");
        var predictions = Path.Combine(execution.WorkDirectory, "predictions.csv");
        await Task.Run(() => BatchInferJob.Infer(modelPath, csvPath, predictions, 1024, execution.ReportProgress, cancellationToken, execution.InferenceProvider), cancellationToken);

        execution.ReportPhase("evaluating");
        var classes = OnnxMetadata.Read(modelPath).TryGetValue(OnnxMetadata.ClassesKey, out var json) ? JsonSerializer.Deserialize<string[]>(json) : null;
        var metrics = Evaluate(csvPath, predictions, execution.Parameters["label"], execution.Parameters["task"], classes);
        execution.Output.Status = "READY";
        execution.Output.Metrics.Add(metrics);
        execution.ReportProgress(1);
    }

    internal static Dictionary<string, double> Evaluate(string datasetPath, string predictionsPath, string label, string task, IReadOnlyList<string>? classes = null)
    {
        var truth = Columns(datasetPath, label)[0] ?? throw new ArgumentException($"The dataset has no column '{label}' (label).");
        var ml = new MLContext(seed: 1);
        if (task == "multiclass")
        {
            return Multiclass(ml, truth, predictionsPath, classes
                ?? throw new ArgumentException("The model does not name its classes (ONNX metadata edgegreen.classes); multiclass evaluation needs a model trained by EdgeGreen."));
        }

        var (scores, probabilities, predicted) = Columns(predictionsPath, "Score", "Probability", "PredictedLabel") switch { var c => (c[0], c[1], c[2]) };
        if (scores is null)
        {
            throw new ArgumentException("The model has no Score output; evaluate needs a model trained by EdgeGreen (or with ML.NET's output names).");
        }

        if (task == "regression")
        {
            var view = ml.Data.LoadFromEnumerable(truth.Zip(scores, (t, s) => new RegressionRow { Label = Number(t), Score = Number(s) }));
            var regression = ml.Regression.Evaluate(view);
            return new() { ["rmse"] = regression.RootMeanSquaredError, ["mae"] = regression.MeanAbsoluteError, ["r2"] = regression.RSquared, ["rows"] = truth.Count };
        }

        if (probabilities is null)
        {
            throw new ArgumentException("The model has no Probability output; a binary evaluation needs one.");
        }

        predicted ??= [.. probabilities.Select(p => Number(p) > 0.5 ? "1" : "0")];
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

    /// <summary>
    /// Each row's truth becomes the index of its class in the Score vector (NaN for a class the
    /// model never saw, which ML.NET's evaluator leaves out and <c>unknownLabelRows</c> counts) and
    /// its prediction the class with the highest score.
    /// </summary>
    private static Dictionary<string, double> Multiclass(MLContext ml, List<string> truth, string predictionsPath, IReadOnlyList<string> classes)
    {
        var width = classes.Count;
        var scores = Columns(predictionsPath, [.. Enumerable.Range(0, width).Select(k => $"Score_{k}")]);
        if (scores.Any(c => c is null))
        {
            throw new ArgumentException($"The predictions lack Score_0…Score_{width - 1}: the model's scores do not match its {width} classes.");
        }

        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (float)p.i, StringComparer.Ordinal);
        var rows = truth.Select((t, i) =>
        {
            var score = scores.Select(c => Number(c![i])).ToArray();
            return new MulticlassRow
            {
                Label = index.TryGetValue(Normalized(t), out var k) ? k : float.NaN,
                Score = score,
                PredictedLabel = (uint)Array.IndexOf(score, score.Max()) + 1,
            };
        }).ToList();
        var schema = SchemaDefinition.Create(typeof(MulticlassRow));
        schema[nameof(MulticlassRow.PredictedLabel)].ColumnType = new KeyDataViewType(typeof(uint), width);
        schema[nameof(MulticlassRow.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var multiclass = ml.MulticlassClassification.Evaluate(ml.Data.LoadFromEnumerable(rows, schema));
        return new()
        {
            ["accuracy"] = multiclass.MicroAccuracy,
            ["macroAccuracy"] = multiclass.MacroAccuracy,
            ["logLoss"] = multiclass.LogLoss,
            ["rows"] = truth.Count,
            ["unknownLabelRows"] = rows.Count(r => float.IsNaN(r.Label)),
        };
    }

    /// <summary>A label as the model's class list writes it: numbers in round-trip form, text as it is.</summary>
    private static string Normalized(string text) =>
        float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value.ToString("R", CultureInfo.InvariantCulture) : text;

    private static float Number(string text) => float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : float.NaN;

    /// <summary>Columns of a CSV as text, read in one pass; null for a name the CSV does not have.</summary>
    private static List<string>?[] Columns(string path, params string[] names)
    {
        using var parser = DatasetSchema.OpenCsv(path, out var header);
        var indexes = names.Select(n => Array.IndexOf(header, n)).ToArray();
        var values = indexes.Select(i => i < 0 ? null : new List<string>()).ToArray();
        while (DatasetSchema.ReadRow(parser) is { } row)
        {
            for (var c = 0; c < indexes.Length; c++)
            {
                values[c]?.Add(row[indexes[c]]);
            }
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

    private sealed class MulticlassRow
    {
        public float Label { get; set; }

        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    private sealed class RegressionRow
    {
        public float Label { get; set; }

        public float Score { get; set; }
    }
}
