using Onnx;

namespace EdgeGreen.Agent.Tests;

/// <summary>Small ONNX graphs built in the tests, with ML.NET's conventions for shapes ([-1, width]).</summary>
internal static class OnnxGraphs
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Integer = (int)TensorProto.Types.DataType.Int64;
    public const int Bool = (int)TensorProto.Types.DataType.Bool;
    public const int Text = (int)TensorProto.Types.DataType.String;

    /// <summary>A tensor's declaration; a null dimension is symbolic.</summary>
    public static ValueInfoProto Tensor(string name, int type, params long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim is { } value ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = "width" });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } } };
    }

    public static NodeProto Node(string op, string domain, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Domain = domain, Name = outputs[0] };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    /// <summary>A model around the graph: IR 7, the default domain at opset 12 and ai.onnx.ml at 2.</summary>
    public static ModelProto Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 12 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 2 });
        return model;
    }
}
