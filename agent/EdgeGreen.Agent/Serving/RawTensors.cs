using System.Buffers.Binary;
using System.Text;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// Tensor data as raw bytes, the layout of the binary tensor data extension over REST and of
/// <c>raw_input_contents</c> / <c>raw_output_contents</c> over gRPC: row-major, little-endian,
/// without stride or padding, each element in its native size; BOOL one byte (1 true, 0 false);
/// BYTES each element a 4-byte little-endian unsigned length followed by its bytes.
/// </summary>
internal static class RawTensors
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The values of input <paramref name="name"/> from its raw bytes.</summary>
    public static Array Decode(string name, ElementType element, int count, ArraySegment<byte> bytes)
    {
        if (element.Size == 0)
        {
            return Strings(name, bytes);
        }

        var expected = (long)count * element.Size;
        if (bytes.Count != expected)
        {
            throw new InferenceException(400, $"Input '{name}' holds {count} {element.Datatype} values ({expected} bytes) but its binary data is {bytes.Count} bytes.");
        }

        if (element.Type == typeof(bool) && bytes.AsSpan().IndexOfAnyExcept((byte)0, (byte)1) is var at and >= 0)
        {
            throw new InferenceException(400, $"Input '{name}' value {at} is the byte {bytes[at]}; a BOOL is 0 or 1.");
        }

        // Block copies keep the host's byte order, which is little-endian on every platform the agent ships for.
        var values = Array.CreateInstance(element.Type, count);
        Buffer.BlockCopy(bytes.Array!, bytes.Offset, values, 0, bytes.Count);
        return values;
    }

    /// <summary>The raw bytes of an output's values.</summary>
    public static byte[] Encode(OutputTensor output)
    {
        if (output.Values is string[] strings)
        {
            var buffer = new MemoryStream();
            Span<byte> length = stackalloc byte[4];
            foreach (var value in strings)
            {
                var bytes = Encoding.UTF8.GetBytes(value);
                BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
                buffer.Write(length);
                buffer.Write(bytes);
            }

            return buffer.ToArray();
        }

        var raw = new byte[Buffer.ByteLength(output.Values)];
        Buffer.BlockCopy(output.Values, 0, raw, 0, raw.Length);
        return raw;
    }

    /// <summary>A BYTES element as the string an ONNX string tensor holds; bytes that are not UTF-8 are refused, not mangled.</summary>
    public static string Utf8(string name, int index, ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InferenceException(400, $"Input '{name}' element {index} is not UTF-8, which the model's string input needs.");
        }
    }

    private static string[] Strings(string name, ReadOnlySpan<byte> bytes)
    {
        var values = new List<string>();
        while (bytes.Length > 0)
        {
            if (bytes.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) > (uint)(bytes.Length - 4))
            {
                throw new InferenceException(400, $"Input '{name}' element {values.Count} is cut short: each BYTES element is a 4-byte little-endian length and then that many bytes.");
            }

            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            values.Add(Utf8(name, values.Count, bytes.Slice(4, length)));
            bytes = bytes[(4 + length)..];
        }

        return [.. values];
    }
}
