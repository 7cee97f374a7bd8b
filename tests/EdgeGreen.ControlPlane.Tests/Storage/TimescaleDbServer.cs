using System.Diagnostics;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// A <see cref="PostgresServer"/> that preloads TimescaleDB, with its background jobs off (no
/// policy runs on its own while a test looks; the tests compress chunks themselves) and its
/// telemetry off (nothing outside the machine is called). A database gets the extension from
/// <see cref="InstallAsync"/>, as an operator would add it.
/// </summary>
public sealed class TimescaleDbServer : PostgresServer
{
    private const string Preload = "-c shared_preload_libraries=timescaledb -c timescaledb.max_background_workers=0 -c timescaledb.telemetry_level=off";

    protected override string ExtraOptions => TimescaleDb.SkipReason is null ? Preload : "";

    /// <summary>Installs the extension in the database of <paramref name="connectionString"/>.</summary>
    public static Task InstallAsync(string connectionString) => ExecuteAsync(connectionString, "CREATE EXTENSION timescaledb");

    /// <summary>Restarts the server preloading TimescaleDB, or not (as a server whose <c>postgresql.conf</c> lost the setting).</summary>
    public Task RestartAsync(bool preload) => RestartAsync(preload ? Preload : "");
}

/// <summary>
/// Whether the PostgreSQL the tests run has TimescaleDB to load. Debian's archive does not carry
/// the extension, so <c>tests/run.sh</c> cannot install it: where it is missing the TimescaleDB
/// tests are skipped with the reason, even under <c>CI=true</c>, unless
/// <c>EDGEGREEN_REQUIRE_TIMESCALEDB=1</c> asks for them (then they run and fail).
/// </summary>
internal static class TimescaleDb
{
    private static readonly Lazy<string?> Reason = new(Find);

    /// <summary>Why the TimescaleDB tests are skipped; null when they run.</summary>
    public static string? SkipReason => Environment.GetEnvironmentVariable("EDGEGREEN_REQUIRE_TIMESCALEDB") == "1" ? null : Reason.Value;

    private static string? Find()
    {
        if (ExternalProgram.Find("initdb") is not { } initdb)
        {
            return "PostgreSQL (initdb) is not installed";
        }

        // The pg_config of the same installation (initdb may be a link into it), else the one on PATH.
        var binaries = PostgresServer.BinaryDirectory(initdb);
        var pgConfig = File.Exists(Path.Combine(binaries, "pg_config")) ? Path.Combine(binaries, "pg_config") : ExternalProgram.Find("pg_config");
        if (pgConfig is null)
        {
            return $"pg_config is neither beside {binaries}/initdb nor on PATH, so where extensions live is unknown";
        }

        using var process = Process.Start(new ProcessStartInfo(pgConfig, "--sharedir") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var shareDirectory = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        var control = Path.Combine(shareDirectory, "extension", "timescaledb.control");
        return File.Exists(control)
            ? null
            : $"TimescaleDB is not installed for this PostgreSQL (no {control}); Debian's archive does not carry it: install Timescale's "
              + "timescaledb-2-postgresql package or build it from source to run these tests (EDGEGREEN_REQUIRE_TIMESCALEDB=1 makes its absence fail them)";
    }
}

/// <summary>A test that needs TimescaleDB (see <see cref="TimescaleDb"/>): skipped with the reason where it is missing.</summary>
public sealed class TimescaleDbFactAttribute : FactAttribute
{
    public TimescaleDbFactAttribute()
    {
        Skip = ExternalProgram.SkipReason("initdb") ?? TimescaleDb.SkipReason;
    }
}

/// <summary>Marks a storage contract class whose facts need TimescaleDB (see <see cref="ContractFactDiscoverer"/>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresTimescaleDbAttribute : Attribute;
