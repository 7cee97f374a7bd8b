using EdgeGreen.Agent.Jobs.Ml;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static EdgeGreen.Agent.Tests.OnnxGraphs;

namespace EdgeGreen.Agent.Tests.Jobs;

/// <summary>The serving-graph rewrite on hand-built graphs: what it may rewrite, what it must leave, and unchanged outputs.</summary>
public sealed class ServingGraphTests
{
    [Fact]
    public void Simplify_KeepsEveryOutputAndDropsOnlyCopies()
    {
        var model = Model();
        var original = model.ToByteArray();

        ServingGraph.Simplify(model.Graph);

        // The float vectorizer became Concat; the copies went; the one-input vectorizer and the cast
        // over an int64 column convert it and stay; the unread label input went.
        Assert.Equal(["Concat", "Sigmoid", "FeatureVectorizer", "Cast"], model.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["a", "b", "k"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["s.output", "mixed.output", "k.output"], model.Graph.Output.Select(o => o.Name));
        Assert.DoesNotContain(model.Graph.ValueInfo, v => v.Name is "c" or "w" or "s");

        var random = new Random(3);
        var a = Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, 32).Select(_ => (float)random.NextDouble()).ToArray();
        var k = Enumerable.Range(0, 16).Select(_ => (long)random.Next(100)).ToArray();
        var before = Run(original, a, b, k, withLabel: true);
        var after = Run(model.ToByteArray(), a, b, k, withLabel: false);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, values) in before)
        {
            Assert.Equal(values, after[name]);
        }
    }

    [Fact]
    public void Simplify_VectorizerOfUnknownWidth_IsLeftAlone()
    {
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(Tensor("u", Float, -1, null));
        graph.Output.Add(Tensor("out", Float, -1, 1));
        graph.Node.Add(Node("FeatureVectorizer", "ai.onnx.ml", ["u"], ["v"], Ints("inputdimensions", 1)));
        graph.ValueInfo.Add(Tensor("v", Float, -1, 1));
        graph.Node.Add(Node("Identity", "", ["v"], ["out"]));

        ServingGraph.Simplify(graph);

        // Without a known width the one-input vectorizer may pad or cut, so it is not a copy; the
        // Identity still goes, its output name moving to the tensor it copied.
        var node = Assert.Single(graph.Node);
        Assert.Equal("FeatureVectorizer", node.OpType);
        Assert.Equal(["out"], node.Output);
    }

    private static Dictionary<string, float[]> Run(byte[] model, float[] a, float[] b, long[] k, bool withLabel)
    {
        using var session = new InferenceSession(model);
        var feeds = new Dictionary<string, OrtValue>
        {
            ["a"] = OrtValue.CreateTensorValueFromMemory(a, [16, 1]),
            ["b"] = OrtValue.CreateTensorValueFromMemory(b, [16, 2]),
            ["k"] = OrtValue.CreateTensorValueFromMemory(k, [16, 1]),
        };
        if (withLabel)
        {
            feeds["label"] = OrtValue.CreateTensorValueFromMemory(new bool[16], [16, 1]);
        }

        try
        {
            using var runOptions = new RunOptions();
            var names = session.OutputMetadata.Keys.ToArray();
            using var results = session.Run(runOptions, feeds.Keys.ToArray(), feeds.Values.ToArray(), names);
            return names.Zip(results).ToDictionary(p => p.First, p => p.Second.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var value in feeds.Values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>
    /// ML.NET's shapes: float columns vectorized, cast to float, vectorized again alone, then an
    /// Identity per output; beside them a vectorizer and a cast over an int64 column, which convert.
    /// </summary>
    private static ModelProto Model()
    {
        var graph = new GraphProto { Name = "exported" };
        graph.Input.Add(Tensor("a", Float, -1, 1));
        graph.Input.Add(Tensor("b", Float, -1, 2));
        graph.Input.Add(Tensor("label", Bool, -1, 1));
        graph.Input.Add(Tensor("k", Integer, -1, 1));
        graph.Node.Add(Node("FeatureVectorizer", "ai.onnx.ml", ["a", "b"], ["v"], Ints("inputdimensions", 1, 2)));
        graph.Node.Add(Node("Cast", "", ["v"], ["c"], Int("to", Float)));
        graph.Node.Add(Node("FeatureVectorizer", "ai.onnx.ml", ["c"], ["w"], Ints("inputdimensions", 3)));
        graph.Node.Add(Node("Sigmoid", "", ["w"], ["s"]));
        graph.Node.Add(Node("Identity", "", ["s"], ["s.output"]));
        graph.Node.Add(Node("FeatureVectorizer", "ai.onnx.ml", ["k"], ["mixed"], Ints("inputdimensions", 1)));
        graph.Node.Add(Node("Identity", "", ["mixed"], ["mixed.output"]));
        graph.Node.Add(Node("Cast", "", ["k"], ["kf"], Int("to", Float)));
        graph.Node.Add(Node("Identity", "", ["kf"], ["k.output"]));
        foreach (var (name, width) in new[] { ("v", 3), ("c", 3), ("w", 3), ("s", 3), ("mixed", 1), ("kf", 1) })
        {
            graph.ValueInfo.Add(Tensor(name, Float, -1, width));
        }

        graph.Output.Add(Tensor("s.output", Float, -1, 3));
        graph.Output.Add(Tensor("mixed.output", Float, -1, 1));
        graph.Output.Add(Tensor("k.output", Float, -1, 1));
        return OnnxGraphs.Model(graph);
    }
}
