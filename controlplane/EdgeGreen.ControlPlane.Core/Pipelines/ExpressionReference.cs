namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// A name an expression reads, in one of these shapes:
/// <list type="bullet">
/// <item><c>parameters.NAME</c>: Root <c>parameters</c>, Step and Section null.</item>
/// <item><c>steps.STEP.status</c>: Root <c>steps</c>, Section null, Name <c>status</c>.</item>
/// <item><c>steps.STEP.outputs.NAME</c>, <c>steps.STEP.metrics.NAME</c>: Section <c>outputs</c> or <c>metrics</c>; NAME may hold dots (<c>throughput.b8t1</c>).</item>
/// <item><c>steps.STEP.sustainability.energyJoules</c> or <c>.carbonGrams</c>: Section <c>sustainability</c>.</item>
/// </list>
/// </summary>
public sealed record ExpressionReference(string Root, string? Step, string? Section, string Name)
{
    public const string ParametersRoot = "parameters";
    public const string StepsRoot = "steps";
    public const string OutputsSection = "outputs";
    public const string MetricsSection = "metrics";
    public const string SustainabilitySection = "sustainability";
    public const string StatusName = "status";
    public const string EnergyJoulesName = "energyJoules";
    public const string CarbonGramsName = "carbonGrams";

    /// <summary>What <see cref="IsValidName"/> accepts, as a sentence for error messages.</summary>
    public const string NameRule = "a name is 1 to 128 letters, digits, '_' or '-', starting with a letter or digit.";

    /// <summary>
    /// Whether a step or pipeline parameter name can be referred to: the resource-name rule
    /// without dots, since a dot separates the parts of a reference.
    /// </summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 128 } && char.IsAsciiLetterOrDigit(name[0]) && name.All(IsNameCharacter);

    internal static bool IsNameCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    /// <summary>The reference as written in an expression, e.g. <c>steps.train.outputs.model</c>.</summary>
    public override string ToString() => (Step, Section) switch
    {
        (null, _) => $"{Root}.{Name}",
        (_, null) => $"{Root}.{Step}.{Name}",
        _ => $"{Root}.{Step}.{Section}.{Name}",
    };
}
