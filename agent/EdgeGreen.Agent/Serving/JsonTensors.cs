using System.Globalization;
using System.Text.Json;

namespace EdgeGreen.Agent.Serving;

/// <summary>Tensor data in the protocol's JSON: <c>data</c> flat or nested in row-major order; NaN and the infinities as strings.</summary>
internal static class JsonTensors
{
    private delegate bool Reader<T>(JsonElement element, out T value);

    /// <summary>The values of input <paramref name="name"/> from its <c>data</c> array.</summary>
    public static Array Read(string name, ElementType element, JsonElement data)
    {
        var elements = new List<JsonElement>();
        Flatten(data, elements);
        return element.Type switch
        {
            var t when t == typeof(float) => Values(name, element, elements, (JsonElement e, out float v) => e.TryGetSingle(out v)),
            var t when t == typeof(double) => Values(name, element, elements, (JsonElement e, out double v) => e.TryGetDouble(out v)),
            var t when t == typeof(sbyte) => Values(name, element, elements, (JsonElement e, out sbyte v) => e.TryGetSByte(out v)),
            var t when t == typeof(short) => Values(name, element, elements, (JsonElement e, out short v) => e.TryGetInt16(out v)),
            var t when t == typeof(int) => Values(name, element, elements, (JsonElement e, out int v) => e.TryGetInt32(out v)),
            var t when t == typeof(long) => Values(name, element, elements, (JsonElement e, out long v) => e.TryGetInt64(out v)),
            var t when t == typeof(byte) => Values(name, element, elements, (JsonElement e, out byte v) => e.TryGetByte(out v)),
            var t when t == typeof(ushort) => Values(name, element, elements, (JsonElement e, out ushort v) => e.TryGetUInt16(out v)),
            var t when t == typeof(uint) => Values(name, element, elements, (JsonElement e, out uint v) => e.TryGetUInt32(out v)),
            var t when t == typeof(ulong) => Values(name, element, elements, (JsonElement e, out ulong v) => e.TryGetUInt64(out v)),
            var t when t == typeof(bool) => Values(name, element, elements, (JsonElement e, out bool v) =>
            {
                v = e.ValueKind == JsonValueKind.True;
                return e.ValueKind is JsonValueKind.True or JsonValueKind.False;
            }),
            _ => Values(name, element, elements, (JsonElement e, out string v) =>
            {
                v = e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
                return e.ValueKind == JsonValueKind.String;
            }),
        };
    }

    /// <summary>Writes an output's values as its <c>data</c> array.</summary>
    public static void Write(Utf8JsonWriter w, Array values)
    {
        w.WriteStartArray("data");
        switch (values)
        {
            case float[] floats:
                Reals(w, floats, float.IsFinite, w.WriteNumberValue);
                break;
            case double[] doubles:
                Reals(w, doubles, double.IsFinite, w.WriteNumberValue);
                break;
            case bool[] booleans:
                foreach (var v in booleans)
                {
                    w.WriteBooleanValue(v);
                }

                break;
            case string[] strings:
                foreach (var v in strings)
                {
                    w.WriteStringValue(v);
                }

                break;
            case ulong[] unsigned:
                foreach (var v in unsigned)
                {
                    w.WriteNumberValue(v);
                }

                break;
            default:
                // The other integers all fit a long.
                foreach (var v in values)
                {
                    w.WriteNumberValue(Convert.ToInt64(v, CultureInfo.InvariantCulture));
                }

                break;
        }

        w.WriteEndArray();
    }

    private static T[] Values<T>(string name, ElementType element, List<JsonElement> elements, Reader<T> read)
    {
        var values = new T[elements.Count];
        var numeric = element.Type != typeof(bool) && element.Type != typeof(string);
        for (var i = 0; i < values.Length; i++)
        {
            if ((numeric && elements[i].ValueKind != JsonValueKind.Number) || !read(elements[i], out values[i]))
            {
                throw new InferenceException(400, $"Input '{name}' value {i} ({elements[i].GetRawText()}) is not a {element.Datatype}.");
            }
        }

        return values;
    }

    private static void Flatten(JsonElement element, List<JsonElement> into)
    {
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Flatten(item, into);
            }
            else
            {
                into.Add(item);
            }
        }
    }

    /// <summary>JSON has no NaN or infinities; they travel as the strings "NaN", "Infinity", "-Infinity".</summary>
    private static void Reals<T>(Utf8JsonWriter w, T[] values, Func<T, bool> isFinite, Action<T> write)
        where T : IFormattable
    {
        foreach (var v in values)
        {
            if (isFinite(v))
            {
                write(v);
            }
            else
            {
                w.WriteStringValue(v.ToString(null, CultureInfo.InvariantCulture));
            }
        }
    }
}
