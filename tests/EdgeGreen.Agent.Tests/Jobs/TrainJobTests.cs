using System.Security.Cryptography;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Jobs.Ml;

namespace EdgeGreen.Agent.Tests.Jobs;

/// <summary>The train kind on real data: ML.NET trains, exports ONNX, and ONNX Runtime is checked against it.</summary>
public sealed class TrainJobTests : IDisposable
{
    private static readonly string Credit = Path.Combine(AppContext.BaseDirectory, "fixtures", "ml", "UCI_Credit_Card.csv");
    private readonly SysfsTree _work = new();
    private readonly TrainJob _train = new();

    [Theory]
    [InlineData("fasttree")]
    [InlineData("lightgbm")]
    [InlineData("sdca")]
    public async Task Train_BinaryOnTheCreditData_IsVerifiedAndUploaded(string trainer)
    {
        var store = new FolderArtifacts(_work.Root);
        var sha = store.Add(Credit);
        var execution = Execution(new()
        {
            ["dataset"] = "uci-credit-card",
            ["datasetSha256"] = sha,
            ["label"] = "default.payment.next.month",
            ["task"] = "binary",
            ["trainer"] = trainer,
            ["ignore"] = "ID",
        });

        await _train.RunAsync(execution, CancellationToken.None);

        var output = execution.Output;
        Assert.Equal("READY", output.Status);
        Assert.True(output.Metrics["auc"] > 0.7, $"AUC {output.Metrics["auc"]}");
        Assert.InRange(output.Metrics["accuracy"], 0.7, 1);
        Assert.Contains("f1", output.Metrics.Keys);
        Assert.Contains("logLoss", output.Metrics.Keys);
        Assert.True(store.Has(output.ArtifactSha256));
        Assert.Contains(output.Inputs, i => i.Name == "LIMIT_BAL" && i.ElementType == "Single");
        Assert.DoesNotContain(output.Inputs, i => i.Name == "ID");
        Assert.Contains(output.Outputs, o => o.Name == "Probability.output");
        Assert.True(double.Parse(output.Details["verificationMaxDifference"], System.Globalization.CultureInfo.InvariantCulture) <= TabularTrainer.Tolerance);

        // The served graph is the simplified one: no generic vectorizer, no copies, no label input.
        Assert.DoesNotContain(output.Inputs, i => i.Name == "default.payment.next.month");
        var graph = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(_work.Root, "store", output.ArtifactSha256))).Graph;
        Assert.DoesNotContain(graph.Node, n => n.OpType is "FeatureVectorizer" or "Identity");
        Assert.Contains(graph.Node, n => n.OpType == "Concat");
        Assert.StartsWith($"{graph.Node.Count} (ML.NET exported ", output.Details["onnxNodes"]);
    }

    [Fact]
    public async Task Train_RegressionAndMulticlass_WithCategoricalFeatures()
    {
        var csv = Path.Combine(_work.Root, "houses.csv");
        var random = new Random(4);
        var lines = new List<string> { "size,city,garden,price,band" };
        for (var i = 0; i < 600; i++)
        {
            var size = random.Next(40, 200);
            var city = new[] { "Lisbon", "Porto", "Faro" }[i % 3];
            var garden = random.Next(2) == 1 ? "yes" : "no";
            var price = (size * 2.5) + (city == "Lisbon" ? 100 : 0) + (garden == "yes" ? 20 : 0) + random.NextDouble();
            lines.Add($"{size},{city},{garden},{price:F2},{(price > 400 ? "high" : price > 250 ? "mid" : "low")}");
        }

        await File.WriteAllLinesAsync(csv, lines);
        var store = new FolderArtifacts(_work.Root);
        var sha = store.Add(csv);

        var regression = Execution(new() { ["dataset"] = "houses", ["datasetSha256"] = sha, ["label"] = "price", ["task"] = "regression", ["ignore"] = "band" });
        await _train.RunAsync(regression, CancellationToken.None);
        Assert.Equal("READY", regression.Output.Status);
        Assert.True(regression.Output.Metrics["r2"] > 0.9, $"R² {regression.Output.Metrics["r2"]}");
        Assert.Contains(regression.Output.Inputs, i => i.Name == "city" && i.ElementType == "String");

        var multiclass = Execution(new() { ["dataset"] = "houses", ["datasetSha256"] = sha, ["label"] = "band", ["task"] = "multiclass", ["trainer"] = "lightgbm", ["ignore"] = "price" });
        await _train.RunAsync(multiclass, CancellationToken.None);
        Assert.Equal("READY", multiclass.Output.Status);
        Assert.True(multiclass.Output.Metrics["accuracy"] > 0.8, $"accuracy {multiclass.Output.Metrics["accuracy"]}");
        var classes = System.Text.Json.JsonSerializer.Deserialize<string[]>(multiclass.Output.Details["classes"])!;
        Assert.Equal(["high", "low", "mid"], classes.Order());

        // The exported file names its classes, so batch-infer writes the label as text and evaluate
        // can score the Score vector against the truth.
        var model = Path.Combine(_work.Root, "store", multiclass.Output.ArtifactSha256);
        Assert.Equal(multiclass.Output.Details["classes"], OnnxMetadata.Read(model)[OnnxMetadata.ClassesKey]);
        var predictions = Path.Combine(_work.Root, "bands.csv");
        var progress = new List<double>();
        Assert.Equal(600, BatchInferJob.Infer(model, csv, predictions, 64, progress.Add, CancellationToken.None));
        Assert.Equal(10, progress.Count);
        Assert.Equal(progress.Order(), progress);
        Assert.Equal(0.9, progress[^1], 6);
        var header = File.ReadLines(predictions).First().Split(',');
        Assert.Equal(["row", "PredictedLabel", "Score_0", "Score_1", "Score_2"], header);
        Assert.Contains(File.ReadLines(predictions).Skip(1).First().Split(',')[1], classes);
        var metrics = EvaluateJob.Evaluate(csv, predictions, "band", "multiclass", classes);
        Assert.True(metrics["accuracy"] > 0.8, $"accuracy {metrics["accuracy"]}");
        Assert.InRange(metrics["macroAccuracy"], 0.5, 1);
        Assert.True(metrics["logLoss"] is > 0 and < 1, $"log-loss {metrics["logLoss"]}");
        Assert.Equal(0, metrics["unknownLabelRows"]);

        // A wrong class order would score the truth against the wrong probabilities.
        var shuffled = EvaluateJob.Evaluate(csv, predictions, "band", "multiclass", [classes[1], classes[2], classes[0]]);
        Assert.True(shuffled["accuracy"] < 0.5, $"accuracy with the classes shuffled {shuffled["accuracy"]}");

        // Rows whose class the model does not know are counted and left out, not scored as wrong.
        var unknown = EvaluateJob.Evaluate(csv, predictions, "band", "multiclass", [.. classes.Select(c => c == "mid" ? "unseen" : c)]);
        Assert.Equal(File.ReadLines(csv).Count(l => l.EndsWith(",mid", StringComparison.Ordinal)), unknown["unknownLabelRows"]);
        Assert.True(unknown["accuracy"] > 0.8, $"accuracy without the unknown rows {unknown["accuracy"]}");
    }

    [Theory]
    [InlineData("task", "guess", "task")]
    [InlineData("trainer", "fasttree", "trainer")]
    [InlineData("validationFraction", "1.5", "validationFraction")]
    [InlineData("hyperparameters.numberOfTrees", "-3", "hyperparameters.numberOfTrees")]
    [InlineData("hyperparameters.depth", "3", "hyperparameters.depth")]
    [InlineData("registerAs", "no spaces", "registerAs")]
    [InlineData("colour", "red", "colour")]
    public void Validate_BadParameter_IsNamed(string key, string value, string field)
    {
        var parameters = new Dictionary<string, string> { ["dataset"] = "d", ["label"] = "y", ["task"] = "multiclass", ["trainer"] = "lightgbm" };
        parameters[key] = value;

        Assert.Contains(field, _train.Spec.Validate(parameters).Keys);
    }

    [Theory]
    [InlineData("model", "credit-default", "model")]
    [InlineData("output", "no spaces", "output")]
    [InlineData("batchSize", "0", "batchSize")]
    [InlineData("colour", "red", "colour")]
    public void BatchInfer_BadParameter_IsNamed(string key, string value, string field)
    {
        var parameters = new Dictionary<string, string> { ["model"] = "models:/m@champion", ["dataset"] = "d", ["output"] = "p" };
        parameters[key] = value;

        Assert.Contains(field, new BatchInferJob().Spec.Validate(parameters).Keys);
        Assert.Empty(new BatchInferJob().Spec.Validate(new Dictionary<string, string> { ["model"] = "models:/m/1", ["dataset"] = "d", ["output"] = "p" }));
    }

    [Theory]
    [InlineData("task", "ordinal", "task")]
    [InlineData("label", "", "label")]
    [InlineData("model", "m", "model")]
    public void Evaluate_BadParameter_IsNamed(string key, string value, string field)
    {
        var parameters = new Dictionary<string, string> { ["model"] = "models:/m/1", ["dataset"] = "d", ["label"] = "y", ["task"] = "binary" };
        parameters[key] = value;

        Assert.Contains(field, new EvaluateJob().Spec.Validate(parameters).Keys);
    }

    [Theory]
    [InlineData("secondsPerConfiguration", "0", "secondsPerConfiguration")]
    [InlineData("dataset", "", "dataset")]
    [InlineData("threads", "4", "threads")]
    public void Profile_BadParameter_IsNamed(string key, string value, string field)
    {
        var parameters = new Dictionary<string, string> { ["model"] = "models:/m/1", ["dataset"] = "d" };
        parameters[key] = value;

        Assert.Contains(field, new ProfileJob().Spec.Validate(parameters).Keys);
        Assert.True(new ProfileJob().Spec.ImpliedDuration(new Dictionary<string, string> { ["secondsPerConfiguration"] = "5" }) >= TimeSpan.FromSeconds(21));
    }

    [Fact]
    public void InferenceProviders_WithoutCuda_RunOnTheCpuAndSayWhy()
    {
        string[] cpuOnly = [InferenceProviders.Cpu];

        Assert.Equal((InferenceProviders.Cpu, null), InferenceProviders.Choose("Cpu", cpuOnly));
        var (auto, reason) = InferenceProviders.Choose("Auto", cpuOnly);
        Assert.Equal(InferenceProviders.Cpu, auto);
        Assert.Contains("no CUDA execution provider", reason);
        Assert.Contains("-p:OnnxRuntimeGpu=true", reason);
        Assert.Contains("asks for Cuda", InferenceProviders.Choose("Cuda", cpuOnly).Note);
    }

    [Fact]
    public async Task Train_LabelNotInTheDataset_FailsWithTheReason()
    {
        var store = new FolderArtifacts(_work.Root);
        var sha = store.Add(Credit);
        var execution = Execution(new() { ["dataset"] = "c", ["datasetSha256"] = sha, ["label"] = "missing", ["task"] = "binary" });

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _train.RunAsync(execution, CancellationToken.None));

        Assert.Contains("no column 'missing'", error.Message);
    }

    public void Dispose() => _work.Dispose();

    private JobExecution Execution(Dictionary<string, string> parameters)
    {
        var directory = Path.Combine(_work.Root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return new JobExecution("job", parameters, 1, _ => { }, new JobCpuUsage("/proc")) { Artifacts = new FolderArtifacts(_work.Root), WorkDirectory = directory };
    }

    /// <summary>Artifacts kept in a folder by hash, standing in for the control plane (the transfer itself is tested against the real one).</summary>
    private sealed class FolderArtifacts(string root) : IArtifacts
    {
        private string Store => Path.Combine(root, "store");

        public string Add(string path)
        {
            Directory.CreateDirectory(Store);
            var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
            File.Copy(path, Path.Combine(Store, sha), overwrite: true);
            return sha;
        }

        public bool Has(string sha) => File.Exists(Path.Combine(Store, sha));

        public Task DownloadAsync(string sha256, string path, CancellationToken cancellationToken)
        {
            File.Copy(Path.Combine(Store, sha256), path, overwrite: true);
            return Task.CompletedTask;
        }

        public Task<(string Sha256, long Size)> UploadAsync(string path, CancellationToken cancellationToken) =>
            Task.FromResult((Add(path), new FileInfo(path).Length));
    }
}
