using System.Text.Json;
using System.Text.Json.Nodes;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// UTF-8 JSON to a <see cref="JsonNode"/> tree, refusing repeated keys (which
/// <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/> reports without
/// saying where) and nesting deeper than <see cref="PipelineDefinitionReader.MaxDepth"/>.
/// Numbers keep the text they were written with.
/// </summary>
internal static class JsonTree
{
    public static JsonNode? Read(ReadOnlySpan<byte> utf8, PipelineErrors errors)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = PipelineDefinitionReader.MaxDepth });
        var path = new NodePath();
        try
        {
            reader.Read();
            var root = ReadValue(ref reader, path, errors);

            // Anything after the value (a second value) makes the reader throw.
            reader.Read();
            return root;
        }
        catch (JsonException e)
        {
            // The message ends with the 0-based position, which the 1-based prefix says instead.
            var message = e.Message.IndexOf(" LineNumber:", StringComparison.Ordinal) is > 0 and var end ? e.Message[..end] : e.Message;
            errors.Add("$", $"not valid JSON: line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {message}");
            return null;
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on text that is not UTF-8.
            errors.Add("$", $"not valid JSON: {e.Message}");
            return null;
        }
    }

    private static JsonNode? ReadValue(ref Utf8JsonReader reader, NodePath path, PipelineErrors errors)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    path.Push(name);
                    var value = ReadValue(ref reader, path, errors);
                    if (!obj.TryAdd(name, value))
                    {
                        errors.Add(path.ToString(), $"'{name}' appears twice.");
                    }

                    path.Pop();
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    path.Push(array.Count);
                    array.Add(ReadValue(ref reader, path, errors));
                    path.Pop();
                }

                return array;
            case JsonTokenType.String:
                return JsonValue.Create(reader.GetString());
            case JsonTokenType.Number:
                return JsonValue.Create(JsonElement.ParseValue(ref reader));
            case JsonTokenType.True or JsonTokenType.False:
                return JsonValue.Create(reader.GetBoolean());
            default:
                return null;
        }
    }
}
