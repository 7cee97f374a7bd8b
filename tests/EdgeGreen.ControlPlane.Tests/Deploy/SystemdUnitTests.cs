using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeGreen.ControlPlane.Tests.Deploy;

/// <summary>
/// The units in deploy/systemd as systemd itself judges them, offline (no running systemd needed):
/// <c>systemd-analyze verify</c> finds no unknown or malformed setting, and
/// <c>systemd-analyze security</c> rates their exposure at most <see cref="MaxExposure"/> ("OK").
/// </summary>
public sealed partial class SystemdUnitTests
{
    /// <summary>The highest exposure systemd still calls "OK" (its scale is 0.0 to 10.0; "MEDIUM" starts above 3.9).</summary>
    private const double MaxExposure = 3.0;

    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(60);

    [RequiresProgramFact("systemd-analyze")]
    public async Task ControlPlaneUnit_SystemdAnalyze_VerifiesCleanWithExposureAtMostThree() =>
        await AssertVerifiedAndSafeAsync("edgegreen-controlplane.service");

    [RequiresProgramFact("systemd-analyze")]
    public async Task AgentUnit_SystemdAnalyze_VerifiesCleanWithExposureAtMostThree() =>
        await AssertVerifiedAndSafeAsync("edgegreen-agent.service");

    private static async Task AssertVerifiedAndSafeAsync(string unit)
    {
        var (exitCode, verified) = await RunAsync("verify", "--no-pager", UnitPath(unit));

        // Where the SDK is not at /usr/bin/dotnet (the path the units name), verify says so; that
        // is this machine, not the unit.
        var warnings = verified.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.Contains("Command /usr/bin/dotnet is not executable", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(warnings);
        Assert.True(exitCode == 0 || !File.Exists("/usr/bin/dotnet"), verified);
        Assert.InRange(await ExposureAsync(unit), 0, MaxExposure);
    }

    private static async Task<double> ExposureAsync(string unit)
    {
        var (_, output) = await RunAsync("security", "--offline=true", "--no-pager", UnitPath(unit));
        var overall = OverallExposure().Match(output);
        Assert.True(overall.Success, $"systemd-analyze security printed no overall exposure for {unit}: {output}");
        return double.Parse(overall.Groups["score"].Value, CultureInfo.InvariantCulture);
    }

    private static string UnitPath(string unit) => Path.Combine(AppContext.BaseDirectory, "deploy", "systemd", unit);

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) =>
        ExternalProgram.RunAsync(ExternalProgram.Require("systemd-analyze"), arguments, ProgramTimeout);

    [GeneratedRegex(@"Overall exposure level for \S+: (?<score>\d+\.\d+)")]
    private static partial Regex OverallExposure();
}
