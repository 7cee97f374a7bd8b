using System.Diagnostics;

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
        Skip = ExternalProgram.SkipReason(program);
    }
}

internal static class ExternalProgram
{
    public static bool Required =>
        Environment.GetEnvironmentVariable("CI") == "true" || Environment.GetEnvironmentVariable("EDGEGREEN_REQUIRE_SERVICES") == "1";

    /// <summary>
    /// The program's path on PATH, in the system directories daemons install to, in Debian's
    /// versioned PostgreSQL directories (newest first), or among the npm tools tests/run.sh installs
    /// into tests/.tools; null when it is in none of them.
    /// </summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"])
            .Concat(PostgresDirectories())
            .Concat(NpmTools())
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Why a test that needs <paramref name="program"/> is skipped; null when it runs (the program is there, or it is required).</summary>
    public static string? SkipReason(string program) => Find(program) is null && !Required
        ? $"{program} is not installed (tests/run.sh installs it; under CI=true its absence fails the test)"
        : null;

    public static string Require(string program) =>
        Find(program) ?? throw new InvalidOperationException($"{program} is required by this test and is not installed; tests/run.sh installs it.");

    /// <summary>Runs a program to its end, or kills it after <paramref name="timeout"/>; <paramref name="input"/>, when given, is its standard input.</summary>
    /// <returns>Its exit code, and its standard output and error together.</returns>
    /// <exception cref="InvalidOperationException">The program did not start or did not finish in time.</exception>
    public static async Task<(int ExitCode, string Output)> RunAsync(string path, IReadOnlyList<string> arguments, TimeSpan timeout, string? input = null)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{path} did not start.");
        using var deadline = new CancellationTokenSource(timeout);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), deadline.Token);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{path} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await output + await errors);
    }

    private static IEnumerable<string> NpmTools()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeGreen.sln")))
            {
                return [Path.Combine(directory.FullName, "tests", ".tools", "node_modules", ".bin")];
            }
        }

        return [];
    }

    private static IEnumerable<string> PostgresDirectories() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var major) ? major : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
}
