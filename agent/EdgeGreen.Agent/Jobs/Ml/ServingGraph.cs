using Google.Protobuf;
using Onnx;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// Rewrites the graph ML.NET's ONNX converter writes into the smaller graph that computes the same
/// outputs, since ONNX Runtime runs every node on every call. ML.NET's converter emits one node per
/// pipeline step, including steps that only copy: an <c>ai.onnx.ml.FeatureVectorizer</c> over
/// float columns (a generic, slow concatenation), a one-input <c>FeatureVectorizer</c> and casts
/// from float to float (copies), and an <c>Identity</c> before each graph output; and it declares
/// the label column an input although nothing reads it, so a client had to send it. The rewrite:
/// <list type="bullet">
/// <item>a <c>FeatureVectorizer</c> whose inputs are all float matrices exactly as wide as its
/// <c>inputdimensions</c> becomes <c>Concat</c> along axis 1 (the same values, in the same order);</item>
/// <item>a node that only copies (that <c>FeatureVectorizer</c> with one input, a <c>Cast</c> to
/// float of a float tensor, an <c>Identity</c>) is dropped and its readers read its input; an
/// <c>Identity</c> that writes a graph output is dropped by giving the output's name to the tensor it
/// copies;</item>
/// <item>graph inputs no node reads are removed.</item>
/// </list>
/// Only what the graph's input declarations and the operators' definitions prove is rewritten;
/// anything else is left as it was. The train job checks the rewritten file against ML.NET's own predictions, as before.
/// </summary>
internal static class ServingGraph
{
    private const int Float = (int)TensorProto.Types.DataType.Float;

    /// <summary>Rewrites the ONNX file in place; the node counts before and after.</summary>
    public static (int Before, int After) Simplify(string onnxPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var before = model.Graph.Node.Count;
        Simplify(model.Graph);
        File.WriteAllBytes(onnxPath, model.ToByteArray());
        return (before, model.Graph.Node.Count);
    }

    public static void Simplify(GraphProto graph)
    {
        var matrices = graph.Input.Select(i => (i.Name, Shape: Matrix(i.Type?.TensorType)))
            .Where(i => i.Shape is not null)
            .ToDictionary(i => i.Name, i => i.Shape!.Value);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet();

        foreach (var node in graph.Node.ToList())
        {
            if (!outputs.Contains(node.Output[0]) && CopyOf(node, matrices) is { } source)
            {
                graph.Node.Remove(node);
                Rename(graph, node.Output[0], source);
                continue;
            }

            if (IsFloatConcatenation(node, matrices))
            {
                var concat = new NodeProto { Name = node.Name, OpType = "Concat", Domain = "" };
                concat.Input.Add(node.Input);
                concat.Output.Add(node.Output);
                concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
                graph.Node[graph.Node.IndexOf(node)] = concat;
            }

            if (Infer(node, matrices) is { } shape)
            {
                matrices[node.Output[0]] = shape;
            }
        }

        var produced = graph.Node.SelectMany(n => n.Output).ToHashSet();
        foreach (var identity in graph.Node.Where(n => n.OpType == "Identity" && n.Domain is "" or "ai.onnx" && outputs.Contains(n.Output[0])).ToList())
        {
            var copied = identity.Input[0];
            if (produced.Contains(copied) && !outputs.Contains(copied))
            {
                graph.Node.Remove(identity);
                Rename(graph, copied, identity.Output[0]);
            }
        }

        var read = graph.Node.SelectMany(n => n.Input).Concat(outputs).ToHashSet();
        var initialized = graph.Initializer.Select(i => i.Name).ToHashSet();
        foreach (var input in graph.Input.Where(i => !read.Contains(i.Name) && !initialized.Contains(i.Name)).ToList())
        {
            graph.Input.Remove(input);
        }

        var live = graph.Node.SelectMany(n => n.Output).ToHashSet();
        foreach (var info in graph.ValueInfo.Where(v => !live.Contains(v.Name)).ToList())
        {
            graph.ValueInfo.Remove(info);
        }
    }

    /// <summary>The tensor a node copies unchanged into its one output, or null when it computes something.</summary>
    private static string? CopyOf(NodeProto node, Dictionary<string, (int Type, long Width)> matrices)
    {
        if (node.Input.Count != 1 || node.Output.Count != 1)
        {
            return null;
        }

        var input = node.Input[0];
        var known = matrices.TryGetValue(input, out var shape);
        return (node.Domain, node.OpType) switch
        {
            ("" or "ai.onnx", "Identity") => input,
            ("" or "ai.onnx", "Cast") when known && shape.Type == Float && Attribute(node, "to")?.I == Float => input,
            ("ai.onnx.ml", "FeatureVectorizer") when known && shape.Type == Float && Widths(node) is [var width] && shape.Width == width => input,
            _ => null,
        };
    }

    private static bool IsFloatConcatenation(NodeProto node, Dictionary<string, (int Type, long Width)> matrices) =>
        node is { Domain: "ai.onnx.ml", OpType: "FeatureVectorizer", Output.Count: 1 }
        && Widths(node) is { } widths
        && widths.Count == node.Input.Count
        && node.Input.Select((input, i) => matrices.TryGetValue(input, out var shape) && shape.Type == Float && shape.Width == widths[i]).All(fits => fits);

    /// <summary>
    /// The element type and width of a node's output where the operator's definition fixes them as
    /// a matrix. Only these and the graph's inputs (whose shapes ONNX Runtime enforces) are trusted:
    /// ML.NET declares some intermediate shapes wrongly (a one-hot column is declared [N, k] and
    /// computed [N, 1, k]).
    /// </summary>
    private static (int Type, long Width)? Infer(NodeProto node, Dictionary<string, (int Type, long Width)> matrices)
    {
        var input = node.Input.Count > 0 && matrices.TryGetValue(node.Input[0], out var shape) ? shape : ((int Type, long Width)?)null;
        return (node.Domain, node.OpType) switch
        {
            ("ai.onnx.ml", "FeatureVectorizer") when Widths(node) is { } widths => (Float, widths.Sum()),
            ("" or "ai.onnx", "Concat") when node.Input.All(matrices.ContainsKey) && node.Input.Select(i => matrices[i].Type).Distinct().Count() == 1
                => (matrices[node.Input[0]].Type, node.Input.Sum(i => matrices[i].Width)),
            ("" or "ai.onnx", "Cast") when input is { } cast && Attribute(node, "to") is { } to => ((int)to.I, cast.Width),
            ("" or "ai.onnx", "Identity") or ("ai.onnx.ml", "Imputer") => input,
            ("ai.onnx.ml", "Scaler") when input is { } scaled => (Float, scaled.Width),
            _ => null,
        };
    }

    /// <summary>Element type and width of a tensor declared as a matrix with a known column count, else null.</summary>
    private static (int Type, long Width)? Matrix(TypeProto.Types.Tensor? tensor) =>
        tensor?.Shape?.Dim is { Count: 2 } dims && dims[1] is { HasDimValue: true, DimValue: > 0 } ? (tensor.ElemType, dims[1].DimValue) : null;

    private static IReadOnlyList<long>? Widths(NodeProto node) => Attribute(node, "inputdimensions")?.Ints;

    private static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>Makes every node that writes or reads <paramref name="from"/> write or read <paramref name="to"/> instead.</summary>
    private static void Rename(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }

            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i] == from)
                {
                    node.Output[i] = to;
                }
            }
        }
    }
}
