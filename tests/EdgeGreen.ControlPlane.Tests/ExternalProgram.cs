namespace EdgeGreen.ControlPlane.Tests;

/// <summary>
/// A test that needs a program outside .NET (a broker, a database server). Where the program is
/// missing the test is skipped with the reason, unless <c>CI=true</c> or
/// <c>EDGEGREEN_REQUIRE_SERVICES=1</c>: then it runs, and fails saying what is missing.
/// <c>tests/run.sh</c> installs the programs.
/// </summary>
public sealed class RequiresProgramFactAttribute : FactAttribute
{
    public RequiresProgramFactAttribute(string program)
    {
        if (ExternalProgram.Find(program) is null && !ExternalProgram.Required)
        {
            Skip = $"{program} is not installed (tests/run.sh installs it; under CI=true its absence fails the test)";
        }
    }
}

internal static class ExternalProgram
{
    public static bool Required =>
        Environment.GetEnvironmentVariable("CI") == "true" || Environment.GetEnvironmentVariable("EDGEGREEN_REQUIRE_SERVICES") == "1";

    /// <summary>The program's path on PATH or in the system directories daemons install to, or null.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"])
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);

    public static string Require(string program) =>
        Find(program) ?? throw new InvalidOperationException($"{program} is required by this test and is not installed; tests/run.sh installs it.");
}
