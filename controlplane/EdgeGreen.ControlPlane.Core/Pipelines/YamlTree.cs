using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// YAML to the same <see cref="JsonNode"/> tree as <see cref="JsonTree"/>, so one reader serves
/// both. Plain scalars follow the YAML 1.2 core schema (<c>true</c>/<c>false</c>;
/// <c>null</c>/<c>~</c>/empty; integers, also <c>0x</c> and <c>0o</c>; floats); quoted and
/// block scalars and <c>!!str</c> are strings. Aliases are refused, so the tree is never bigger
/// than the text (no "billion laughs"); so are other tags, repeated keys, keys that are not
/// scalars, more than one document, and nesting deeper than <see cref="PipelineDefinitionReader.MaxDepth"/>.
/// </summary>
internal sealed partial class YamlTree
{
    private const string StringTag = "tag:yaml.org,2002:str";

    private readonly Parser _parser;
    private readonly PipelineErrors _errors;
    private readonly NodePath _path = new();

    /// <summary>Why the reader stopped on valid YAML it does not accept (an alias, a tag), with where.</summary>
    private string? _refusal;

    /// <summary>Where the last event read ended.</summary>
    private Mark _last = Mark.Empty;

    private YamlTree(string text, PipelineErrors errors)
    {
        _parser = new Parser(new StringReader(text));
        _errors = errors;
    }

    public static JsonNode? Read(string text, PipelineErrors errors)
    {
        var tree = new YamlTree(text, errors);
        try
        {
            return tree.ReadStream();
        }
        catch (YamlException e)
        {
            // What the reader refuses is reported where it is; what is not YAML at all, for the whole document.
            if (tree._refusal is { } refusal)
            {
                errors.Add(tree._path.ToString(), refusal);
            }
            else
            {
                errors.Add("$", $"not valid YAML: {Where(e.Start)}: {Problem(e)}");
            }

            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this, not a YamlException, on some malformed plain scalars.
            errors.Add("$", $"not valid YAML: after {Where(tree._last)}: a value cannot be read.");
            return null;
        }
    }

    private JsonNode? ReadStream()
    {
        Next();
        if (Next() is StreamEnd)
        {
            _errors.Add("$", "the document is empty.");
            return null;
        }

        var root = ReadNode(Next(), 0);
        Next();
        if (Next() is not StreamEnd and var second)
        {
            throw Refuse(second, "only one YAML document is allowed.");
        }

        return root;
    }

    private ParsingEvent Next()
    {
        if (!_parser.MoveNext())
        {
            throw new YamlException(_last, _last, "the document ends early.");
        }

        _last = _parser.Current!.End;
        return _parser.Current;
    }

    private JsonNode? ReadNode(ParsingEvent e, int depth)
    {
        if (e is MappingStart or SequenceStart && depth >= PipelineDefinitionReader.MaxDepth)
        {
            throw Refuse(e, $"the document nests deeper than {PipelineDefinitionReader.MaxDepth} levels.");
        }

        switch (e)
        {
            case Scalar scalar:
                return ReadScalar(scalar);
            case SequenceStart:
                var array = new JsonArray();
                for (var item = Next(); item is not SequenceEnd; item = Next())
                {
                    _path.Push(array.Count);
                    array.Add(ReadNode(item, depth + 1));
                    _path.Pop();
                }

                return array;
            case MappingStart:
                var obj = new JsonObject();
                for (var key = Next(); key is not MappingEnd; key = Next())
                {
                    if (key is not Scalar { Value: var name })
                    {
                        throw key is AnchorAlias ? Refuse(key, AliasRefusal(key)) : Refuse(key, "a key must be a scalar (plain text).");
                    }

                    _path.Push(name);
                    var value = ReadNode(Next(), depth + 1);
                    if (!obj.TryAdd(name, value))
                    {
                        _errors.Add(_path.ToString(), $"{Where(key.Start)}: '{name}' appears twice.");
                    }

                    _path.Pop();
                }

                return obj;
            default:
                throw Refuse(e, e is AnchorAlias ? AliasRefusal(e) : $"unexpected {e.GetType().Name}.");
        }
    }

    private JsonNode? ReadScalar(Scalar scalar)
    {
        if (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific)
        {
            return scalar.Tag.Value == StringTag
                ? JsonValue.Create(scalar.Value)
                : throw Refuse(scalar, $"the tag {scalar.Tag.Value} is not supported; quote the value to make it a string.");
        }

        if (scalar.Style != ScalarStyle.Plain || !scalar.Tag.IsEmpty)
        {
            return JsonValue.Create(scalar.Value);
        }

        var text = scalar.Value;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (JsonNumber().IsMatch(text))
        {
            return JsonNode.Parse(text);
        }

        if (Integer().IsMatch(text))
        {
            // Leading '+' or zeros, which JSON does not allow.
            var digits = text.TrimStart('+', '-').TrimStart('0');
            return JsonNode.Parse((text[0] == '-' && digits.Length > 0 ? "-" : "") + (digits.Length > 0 ? digits : "0"));
        }

        if ((Hexadecimal().Match(text) is { Success: true } hex ? (hex, 16) : Octal().Match(text) is { Success: true } octal ? (octal, 8) : default)
            is ({ } based, var radix))
        {
            return TryParseUnsigned(based.Groups[1].Value, radix, out var value)
                ? JsonNode.Parse(value.ToString(CultureInfo.InvariantCulture))
                : throw Refuse(scalar, $"{text} is too large a number.");
        }

        if (Float().IsMatch(text) || NotFinite().IsMatch(text))
        {
            var number = NotFinite().IsMatch(text) ? double.NaN : double.Parse(text, CultureInfo.InvariantCulture);
            return double.IsFinite(number)
                ? JsonNode.Parse(number.ToString("R", CultureInfo.InvariantCulture))
                : throw Refuse(scalar, $"{text} is not a finite number; quote it to make it a string.");
        }

        return JsonValue.Create(text);
    }

    private static bool TryParseUnsigned(string digits, int radix, out ulong value)
    {
        value = 0;
        foreach (var c in digits)
        {
            var digit = (ulong)(char.IsAsciiDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
            if (value > (ulong.MaxValue - digit) / (ulong)radix)
            {
                return false;
            }

            value = (value * (ulong)radix) + digit;
        }

        return true;
    }

    private static string AliasRefusal(ParsingEvent alias) =>
        $"aliases (*{((AnchorAlias)alias).Value.Value}) are not supported; write the value out in full.";

    private YamlException Refuse(ParsingEvent e, string message)
    {
        _refusal = $"{Where(e.Start)}: {message}";
        return new YamlException(e.Start, e.End, message);
    }

    /// <summary>The parser's message without the marks it starts with, which <see cref="Where"/> says better.</summary>
    private static string Problem(YamlException e) => MarksPrefix().Replace(e.Message, "");

    private static string Where(Mark mark) => $"line {mark.Line}, column {mark.Column}";

    [GeneratedRegex(@"^\(Line: [^)]*\) - \(Line: [^)]*\): ")]
    private static partial Regex MarksPrefix();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumber();

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex("^0x([0-9a-fA-F]+)$")]
    private static partial Regex Hexadecimal();

    [GeneratedRegex("^0o([0-7]+)$")]
    private static partial Regex Octal();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    [GeneratedRegex(@"^([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex NotFinite();
}
