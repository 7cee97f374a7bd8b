using System.Globalization;
using System.Text.Json;
using EdgeGreen.Shared.Datasets;
using EdgeGreen.Contracts.V1;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// Trains one ML.NET model on a CSV: numeric columns gathered into one vector with missing values replaced by
/// the column mean, boolean columns cast to floats, categorical text one-hot encoded, all
/// concatenated into the features (standardised for the linear SDCA trainers); a seeded train/validation split; metrics on the validation
/// rows. The fitted pipeline is exported to ONNX with ML.NET's converter and verified: ONNX
/// Runtime's output on up to 2,000 validation rows must match ML.NET's within
/// <see cref="Tolerance"/> (absolute, on probabilities and scores; relative to the score's size
/// above 1), else the model is not fit to serve and the result says why.
/// </summary>
public sealed class TabularTrainer(TrainingSpec spec, Action<double> progress, Action<string> phase)
{
    public const double Tolerance = 1e-3;
    private const int VerificationRows = 2_000;

    public TrainingResult Train(string csvPath, string onnxPath, CancellationToken cancellationToken)
    {
        var (ml, model, validation) = Fit(csvPath, cancellationToken);
        phase("evaluating");
        progress(0.7);
        var predictions = model.Transform(validation);
        var metrics = Evaluate(ml, predictions);

        phase("exporting to ONNX");
        progress(0.8);
        var sample = ml.Data.TakeRows(validation, VerificationRows);
        using (var file = File.Create(onnxPath))
        {
            // Only the predictions are the graph's outputs, so ONNX Runtime can drop the nodes that
            // would otherwise copy every input and intermediate column out on each call.
            ml.Model.ConvertToOnnx(model, sample, file, spec.Task switch
            {
                "binary" => ["PredictedLabel", "Score", "Probability"],
                "multiclass" => ["PredictedLabel", "Score"],
                _ => ["Score"],
            });
        }

        var (exportedNodes, servedNodes) = ServingGraph.Simplify(onnxPath);
        string? classes = null;
        if (spec.Task == "multiclass")
        {
            classes = JsonSerializer.Serialize(Classes(model.GetOutputSchema(sample.Schema)["Label"]));
            OnnxMetadata.Append(onnxPath, OnnxMetadata.ClassesKey, classes);
        }

        phase("verifying ONNX against ML.NET");
        progress(0.9);
        var (difference, problem, inputs, outputs) = Verify(model, sample, onnxPath);
        var details = new Dictionary<string, string>
        {
            ["task"] = spec.Task,
            ["trainer"] = spec.Trainer,
            ["label"] = spec.Label.Name,
            ["features"] = string.Join(",", spec.Features.Select(f => f.Name)),
            ["hyperparameters"] = JsonSerializer.Serialize(spec.Hyperparameters),
            ["validationFraction"] = spec.ValidationFraction.ToString(CultureInfo.InvariantCulture),
            ["verificationMaxDifference"] = difference.ToString("G6", CultureInfo.InvariantCulture),
            ["verificationTolerance"] = Tolerance.ToString(CultureInfo.InvariantCulture),
            ["onnxNodes"] = $"{servedNodes} (ML.NET exported {exportedNodes})",
        };
        if (classes is not null)
        {
            details["classes"] = classes;
        }

        return new TrainingResult(metrics, details, inputs, outputs, problem);
    }

    /// <summary>A multiclass label's values in key order, which is the order of the model's <c>Score</c> vector.</summary>
    private static string[] Classes(DataViewSchema.Column label)
    {
        if (label.Annotations.Schema.GetColumnOrNull("KeyValues")?.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> text = default;
            label.GetKeyValues(ref text);
            return [.. text.DenseValues().Select(v => v.ToString())];
        }

        VBuffer<float> numbers = default;
        label.GetKeyValues(ref numbers);
        return [.. numbers.DenseValues().Select(v => v.ToString("R", CultureInfo.InvariantCulture))];
    }

    /// <summary>Loads the CSV, splits it and fits the pipeline: the context, the model and the validation rows.</summary>
    public (MLContext Context, ITransformer Model, IDataView Validation) Fit(string csvPath, CancellationToken cancellationToken)
    {
        var ml = new MLContext(seed: spec.Seed);
        phase("loading");
        progress(0.1);
        var loaded = new List<DatasetColumn>([.. spec.Features, spec.Label]);
        var loader = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = [','],
            HasHeader = true,
            AllowQuoting = true,
            TrimWhitespace = true,
            Columns = [.. loaded.Select(c => new TextLoader.Column(c.Name, Kind(c, c == spec.Label), Index(c)))],
        });
        var data = loader.Load(csvPath);
        var split = ml.Data.TrainTestSplit(data, testFraction: spec.ValidationFraction, seed: spec.Seed);

        var pipeline = Features(ml).Append(Trainer(ml));
        cancellationToken.ThrowIfCancellationRequested();
        phase("training");
        progress(0.15);
        var model = pipeline.Fit(split.TrainSet);
        cancellationToken.ThrowIfCancellationRequested();
        return (ml, model, split.TestSet);
    }

    private int Index(DatasetColumn column) => spec.AllColumns.Select((c, i) => (c, i)).First(p => p.c.Name == column.Name).i;

    private DataKind Kind(DatasetColumn column, bool isLabel) => (column.Type, isLabel, spec.Task) switch
    {
        (DatasetSchema.Categorical, _, _) => DataKind.String,
        (DatasetSchema.Boolean, true, "binary") => DataKind.Boolean,
        (DatasetSchema.Boolean, false, _) => DataKind.Boolean,
        _ => DataKind.Single,
    };

    private IEstimator<ITransformer> Features(MLContext ml)
    {
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        var parts = new List<string>();

        // Numeric columns are gathered into one vector and imputed together: one node in the ONNX
        // graph instead of one per column, which is most of what a served call costs.
        var numeric = spec.Features.Where(f => f.Type is not (DatasetSchema.Categorical or DatasetSchema.Boolean)).Select(f => f.Name).ToArray();
        if (numeric.Length > 0)
        {
            pipeline = pipeline.Append(ml.Transforms.Concatenate("numeric.features", numeric))
                .Append(ml.Transforms.ReplaceMissingValues("numeric.imputed", "numeric.features"));
            parts.Add("numeric.imputed");
        }

        foreach (var feature in spec.Features.Where(f => f.Type is DatasetSchema.Categorical or DatasetSchema.Boolean))
        {
            var output = feature.Name + ".feature";
            pipeline = feature.Type == DatasetSchema.Categorical
                ? pipeline.Append(ml.Transforms.Categorical.OneHotEncoding(output, feature.Name))
                : pipeline.Append(ml.Transforms.Conversion.ConvertType(output, feature.Name, DataKind.Single));
            parts.Add(output);
        }

        pipeline = pipeline.Append(ml.Transforms.Concatenate("Features", [.. parts]));
        if (spec.Trainer == "sdca")
        {
            // A linear model needs features on one scale (bill amounts are ~10⁵, flags 0/1); trees do not.
            pipeline = pipeline.Append(ml.Transforms.NormalizeMeanVariance("Features"));
        }

        return spec.Task == "multiclass" ? pipeline.Append(ml.Transforms.Conversion.MapValueToKey("Label", spec.Label.Name)) : pipeline;
    }

    private IEstimator<ITransformer> Trainer(MLContext ml)
    {
        int? Whole(string name) => spec.Hyperparameters.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;
        double? Real(string name) => spec.Hyperparameters.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : null;
        float? Single(string name) => Real(name) is { } v ? (float)v : null;
        var label = spec.Task == "multiclass" ? "Label" : spec.Label.Name;

        return (spec.Task, spec.Trainer) switch
        {
            ("binary", "fasttree") => ml.BinaryClassification.Trainers.FastTree(label, "Features", null,
                Whole("numberOfLeaves") ?? 20, Whole("numberOfTrees") ?? 100, Whole("minimumExampleCountPerLeaf") ?? 10, Real("learningRate") ?? 0.2),
            ("binary", "lightgbm") => ml.BinaryClassification.Trainers.LightGbm(label, "Features", null,
                Whole("numberOfLeaves"), Whole("minimumExampleCountPerLeaf"), Real("learningRate"), Whole("numberOfIterations") ?? 100),
            ("binary", "sdca") => ml.BinaryClassification.Trainers.SdcaLogisticRegression(label, "Features", null,
                Single("l2Regularization"), Single("l1Regularization"), Whole("maximumNumberOfIterations")),
            ("multiclass", "lightgbm") => ml.MulticlassClassification.Trainers.LightGbm(label, "Features", null,
                Whole("numberOfLeaves"), Whole("minimumExampleCountPerLeaf"), Real("learningRate"), Whole("numberOfIterations") ?? 100)
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel")),
            ("multiclass", "sdca") => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(label, "Features", null,
                Single("l2Regularization"), Single("l1Regularization"), Whole("maximumNumberOfIterations"))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel")),
            ("regression", "fasttree") => ml.Regression.Trainers.FastTree(label, "Features", null,
                Whole("numberOfLeaves") ?? 20, Whole("numberOfTrees") ?? 100, Whole("minimumExampleCountPerLeaf") ?? 10, Real("learningRate") ?? 0.2),
            ("regression", "lightgbm") => ml.Regression.Trainers.LightGbm(label, "Features", null,
                Whole("numberOfLeaves"), Whole("minimumExampleCountPerLeaf"), Real("learningRate"), Whole("numberOfIterations") ?? 100),
            ("regression", "sdca") => ml.Regression.Trainers.Sdca(label, "Features", null, null,
                Single("l2Regularization"), Single("l1Regularization"), Whole("maximumNumberOfIterations")),
            _ => throw new ArgumentException($"No trainer '{spec.Trainer}' for {spec.Task}."),
        };
    }

    private Dictionary<string, double> Evaluate(MLContext ml, IDataView predictions)
    {
        switch (spec.Task)
        {
            case "binary":
                var binary = ml.BinaryClassification.Evaluate(predictions, spec.Label.Name);
                return new() { ["auc"] = binary.AreaUnderRocCurve, ["accuracy"] = binary.Accuracy, ["f1"] = binary.F1Score, ["logLoss"] = binary.LogLoss };
            case "multiclass":
                var multi = ml.MulticlassClassification.Evaluate(predictions, "Label");
                return new() { ["accuracy"] = multi.MicroAccuracy, ["macroAccuracy"] = multi.MacroAccuracy, ["logLoss"] = multi.LogLoss };
            default:
                var regression = ml.Regression.Evaluate(predictions, spec.Label.Name);
                return new() { ["rmse"] = regression.RootMeanSquaredError, ["mae"] = regression.MeanAbsoluteError, ["r2"] = regression.RSquared };
        }
    }

    /// <summary>Runs the ONNX file on the sample rows and compares with ML.NET's output.</summary>
    private (double MaxDifference, string? Problem, List<TensorSpec> Inputs, List<TensorSpec> Outputs) Verify(ITransformer model, IDataView sample, string onnxPath)
    {
        var (column, output) = spec.Task switch
        {
            "binary" => ("Probability", "Probability.output"),
            _ => ("Score", "Score.output"),
        };
        var scored = model.Transform(sample);
        var perRow = spec.Task == "multiclass" ? scored.GetColumn<float[]>(column).ToList() : [.. scored.GetColumn<float>(column).Select(v => new[] { v })];
        var expected = perRow.SelectMany(v => v).ToArray();
        var rows = perRow.Count;

        using var session = new InferenceSession(onnxPath);
        var inputs = session.InputMetadata.Select(m => new TensorSpec { Name = m.Key, ElementType = m.Value.ElementType.Name, Shape = { m.Value.Dimensions.Select(d => (long)d) } }).ToList();
        var outputs = session.OutputMetadata.Select(m => new TensorSpec { Name = m.Key, ElementType = m.Value.ElementType.Name, Shape = { m.Value.Dimensions.Select(d => (long)d) } }).ToList();
        var feeds = session.InputMetadata.Select(m => Feed(sample, m.Key, m.Value, rows)).ToList();
        using var results = session.Run(feeds);
        var actual = results.FirstOrDefault(r => r.Name == output)?.AsEnumerable<float>().ToArray();
        if (actual is null)
        {
            return (double.NaN, $"The ONNX model has no output '{output}'.", inputs, outputs);
        }

        if (actual.Length != expected.Length)
        {
            return (double.NaN, $"ONNX gave {actual.Length} values for '{output}', ML.NET {expected.Length}.", inputs, outputs);
        }

        var worst = 0.0;
        for (var i = 0; i < actual.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / Math.Max(1, Math.Abs(expected[i])));
        }

        return worst <= Tolerance
            ? (worst, null, inputs, outputs)
            : (worst, $"ONNX Runtime's predictions differ from ML.NET's by up to {worst:G4} (tolerance {Tolerance}) on {rows} validation rows.", inputs, outputs);
    }

    private static NamedOnnxValue Feed(IDataView sample, string name, NodeMetadata metadata, int rows)
    {
        var column = sample.Schema[name];
        int[] shape = [rows, 1];
        if (metadata.ElementType == typeof(float))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(sample.GetColumn<float>(column).ToArray(), shape));
        }

        if (metadata.ElementType == typeof(bool))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(sample.GetColumn<bool>(column).ToArray(), shape));
        }

        if (metadata.ElementType == typeof(string))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>(sample.GetColumn<ReadOnlyMemory<char>>(column).Select(v => v.ToString()).ToArray(), shape));
        }

        throw new NotSupportedException($"The ONNX input '{name}' has element type {metadata.ElementType.Name}, which the verifier does not feed.");
    }
}

/// <summary>What training produced; <c>VerificationProblem</c> is null when the ONNX model may serve.</summary>
public sealed record TrainingResult(
    Dictionary<string, double> Metrics,
    Dictionary<string, string> Details,
    List<TensorSpec> Inputs,
    List<TensorSpec> Outputs,
    string? VerificationProblem);
