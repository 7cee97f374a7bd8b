namespace EdgeGreen.Shared.Jobs;

/// <summary>Names of models and datasets, shared by the registry, the dataset catalog and the jobs that refer to them.</summary>
public static class ResourceNames
{
    public const string Rule = "a name is 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.";

    public static bool IsValid([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) =>
        name is { Length: > 0 and <= 128 } && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
