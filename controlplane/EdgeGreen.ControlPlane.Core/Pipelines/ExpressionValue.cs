using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// A value in a <see cref="PipelineExpression"/>: null, a boolean, a number or a string.
/// <see cref="ToString"/> is the text a <c>${{ … }}</c> template puts in its place.
/// </summary>
public readonly record struct ExpressionValue
{
    private readonly bool _boolean;
    private readonly double _number;
    private readonly string? _text;

    private ExpressionValue(ExpressionValueKind kind, bool boolean, double number, string? text)
    {
        Kind = kind;
        _boolean = boolean;
        _number = number;
        _text = text;
    }

    public static ExpressionValue Null => default;

    public ExpressionValueKind Kind { get; }

    public bool IsNull => Kind == ExpressionValueKind.Null;

    public static ExpressionValue FromBoolean(bool value) => new(ExpressionValueKind.Boolean, value, 0, null);

    public static ExpressionValue FromNumber(double value) => new(ExpressionValueKind.Number, false, value, null);

    /// <summary>A string value; a null <paramref name="value"/> gives <see cref="Null"/>.</summary>
    public static ExpressionValue FromString(string? value) => value is null ? Null : new(ExpressionValueKind.String, false, 0, value);

    public bool TryGetBoolean(out bool value)
    {
        value = _boolean;
        return Kind == ExpressionValueKind.Boolean;
    }

    public bool TryGetNumber(out double value)
    {
        value = _number;
        return Kind == ExpressionValueKind.Number;
    }

    public bool TryGetString([NotNullWhen(true)] out string? value)
    {
        value = _text;
        return Kind == ExpressionValueKind.String;
    }

    /// <summary>
    /// The template text: empty for null, <c>true</c>/<c>false</c>, numbers in the invariant
    /// culture's shortest round-trip form (<c>0.75</c>, <c>3</c>, <c>1E+21</c>), strings as they are.
    /// </summary>
    public override string ToString() => Kind switch
    {
        ExpressionValueKind.Boolean => _boolean ? "true" : "false",
        ExpressionValueKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        ExpressionValueKind.String => _text!,
        _ => "",
    };

    /// <summary>How an error message shows the value: its kind and, unless null, its text.</summary>
    internal string Describe() => Kind switch
    {
        ExpressionValueKind.Null => "null",
        ExpressionValueKind.String => $"string '{_text}'",
        ExpressionValueKind.Boolean => $"boolean {this}",
        _ => $"number {this}",
    };
}
