using Google.Protobuf;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// Key/value properties in an ONNX file's <c>ModelProto.metadata_props</c> (field 14), which ONNX
/// Runtime exposes as <c>ModelMetadata.CustomMetadataMap</c>. EdgeGreen keeps there what ML.NET's
/// export leaves out: the class labels in the order of a multiclass model's <c>Score</c> vector.
/// </summary>
internal static class OnnxMetadata
{
    /// <summary>JSON array of a multiclass model's class labels, index k naming <c>Score</c>[k].</summary>
    public const string ClassesKey = "edgegreen.classes";

    private const int MetadataPropsField = 14;

    /// <summary>
    /// Adds a property by appending one more <c>metadata_props</c> entry: protobuf concatenates
    /// repeated fields, so the rest of the file is left byte for byte as it was.
    /// </summary>
    public static void Append(string onnxPath, string key, string value)
    {
        var entry = new MemoryStream();
        using (var writer = new CodedOutputStream(entry, leaveOpen: true))
        {
            writer.WriteTag(1, WireFormat.WireType.LengthDelimited);
            writer.WriteString(key);
            writer.WriteTag(2, WireFormat.WireType.LengthDelimited);
            writer.WriteString(value);
        }

        using var file = new FileStream(onnxPath, FileMode.Append, FileAccess.Write);
        using var output = new CodedOutputStream(file);
        output.WriteTag(MetadataPropsField, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(entry.ToArray()));
    }

    /// <summary>The properties of an ONNX file (the last value wins for a repeated key), skipping the graph unread.</summary>
    public static Dictionary<string, string> Read(string onnxPath)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        using var file = File.OpenRead(onnxPath);
        using var input = new CodedInputStream(file);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != MetadataPropsField || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
            {
                input.SkipLastField();
                continue;
            }

            using var entry = new CodedInputStream(input.ReadBytes().ToByteArray());
            var (key, value) = ("", "");
            uint field;
            while ((field = entry.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(field))
                {
                    case 1:
                        key = entry.ReadString();
                        break;
                    case 2:
                        value = entry.ReadString();
                        break;
                    default:
                        entry.SkipLastField();
                        break;
                }
            }

            properties[key] = value;
        }

        return properties;
    }
}
