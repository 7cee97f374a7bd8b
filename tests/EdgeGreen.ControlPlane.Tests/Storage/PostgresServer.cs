using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// A PostgreSQL server of one test class's own (an xUnit class fixture): <c>initdb</c> in a fresh
/// temporary directory, started by <c>pg_ctl</c> on a free loopback port with its socket in the
/// same directory and trust authentication, then stopped and deleted at dispose. Each test makes
/// a database of its own (<see cref="CreateDatabaseAsync"/>). PostgreSQL refuses to run as root:
/// as root, the binaries run as an unprivileged user (<c>postgres</c>, else <c>nobody</c>) through
/// <c>runuser</c>, the directory chowned to it. Where <c>initdb</c> is missing nothing starts; the
/// tests that need the server are skipped (<see cref="ContractFactAttribute"/>,
/// <see cref="RequiresProgramFactAttribute"/>), or fail under <c>CI=true</c>.
/// </summary>
public class PostgresServer : IAsyncLifetime
{
    private const string Superuser = "edgegreen";
    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _directory = new();
    private string? _bin;
    private string? _runAs;
    private int _port;
    private bool _started;
    private NpgsqlDataSource? _admin;

    private string DataPath => _directory.Sub("data");

    /// <summary>Settings of this server beyond the common ones, as <c>postgres</c> options (<c>-c name=value</c> each).</summary>
    protected virtual string ExtraOptions => "";

    public async Task InitializeAsync()
    {
        if (ExternalProgram.Find("initdb") is not { } initdb)
        {
            return;
        }

        _bin = BinaryDirectory(initdb);
        if (Environment.UserName == "root")
        {
            _runAs = File.ReadLines("/etc/passwd").Any(line => line.StartsWith("postgres:", StringComparison.Ordinal)) ? "postgres" : "nobody";
            await RunAsync(ExternalProgram.Require("chown"), ["-R", _runAs, _directory.Path]);
        }

        await RunPostgresAsync("initdb", ["-D", DataPath, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        for (var attempt = 1; !_started; attempt++)
        {
            // The port is free when picked; another process may take it before the server binds it.
            _port = LoopbackPorts.Free();
            try
            {
                await StartAsync(ExtraOptions);
                _started = true;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Tried again on another port.
            }
            catch (InvalidOperationException ex)
            {
                var log = _directory.Sub("server.log");
                throw new InvalidOperationException($"{ex.Message}\n{(File.Exists(log) ? await File.ReadAllTextAsync(log) : "")}", ex);
            }
        }

        _admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
    }

    /// <summary>
    /// Stops the server (fast: open connections are cut) and starts it again on the same port and
    /// data with <paramref name="extraOptions"/> in place of <see cref="ExtraOptions"/>, as an
    /// operator who changed <c>postgresql.conf</c> would.
    /// </summary>
    protected async Task RestartAsync(string extraOptions)
    {
        await RunPostgresAsync("pg_ctl", ["-D", DataPath, "-m", "fast", "-w", "stop"]);
        await StartAsync(extraOptions);
        // The pooled connections were cut with the old server.
        _admin?.Clear();
    }

    private Task StartAsync(string extraOptions) =>
        RunPostgresAsync("pg_ctl", ["-D", DataPath, "-l", _directory.Sub("server.log"), "-w", "-t", "60", "-o",
            string.Create(CultureInfo.InvariantCulture,
                $"-k {_directory.Path} -h 127.0.0.1 -p {_port} -F -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 {extraOptions}"),
            "start"]);

    /// <summary>The directory of PostgreSQL's own binaries (<c>pg_dump</c>, <c>pg_config</c>, …): where <paramref name="initdb"/> is, or where it links to.</summary>
    public static string BinaryDirectory(string initdb) =>
        Path.GetDirectoryName(new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? initdb)!;

    /// <summary>A new, empty database on this server; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        if (_admin is null)
        {
            ExternalProgram.Require("initdb");
            throw new InvalidOperationException("The PostgreSQL server did not start.");
        }

        var name = "edgegreen_" + Guid.NewGuid().ToString("N");
        await using var command = _admin.CreateCommand($"CREATE DATABASE {name}");
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Runs one statement as the superuser in the database of <paramref name="connectionString"/> (made by <see cref="CreateDatabaseAsync"/>).</summary>
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Backs the database up with <c>pg_dump -Fc</c> and restores it with <c>pg_restore</c> into a new
    /// database, as the storage docs tell operators to; where TimescaleDB is installed in the source,
    /// inside TimescaleDB's <c>timescaledb_pre_restore()</c> / <c>timescaledb_post_restore()</c>.
    /// </summary>
    /// <returns>The restored database's connection string.</returns>
    public async Task<string> DumpAndRestoreAsync(string connectionString, bool timescaleDb)
    {
        var dump = _directory.Sub($"{Guid.NewGuid():N}.dump");
        var source = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await RunPostgresAsync("pg_dump", ["-h", "127.0.0.1", "-p", _port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-Fc", "-d", source, "-f", dump]);
        var restored = await CreateDatabaseAsync();
        if (timescaleDb)
        {
            await ExecuteAsync(restored, "CREATE EXTENSION timescaledb; SELECT timescaledb_pre_restore();");
        }

        await RunPostgresAsync("pg_restore", ["-h", "127.0.0.1", "-p", _port.ToString(CultureInfo.InvariantCulture), "-U", Superuser,
            "-d", new NpgsqlConnectionStringBuilder(restored).Database!, dump]);
        if (timescaleDb)
        {
            await ExecuteAsync(restored, "SELECT timescaledb_post_restore();");
        }

        return restored;
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_started)
        {
            await RunPostgresAsync("pg_ctl", ["-D", DataPath, "-m", "immediate", "-w", "stop"]);
        }

        _directory.Dispose();
    }

    private string ConnectionString(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={_port};Username={Superuser};Database={database}");

    private Task RunPostgresAsync(string program, IReadOnlyList<string> arguments)
    {
        var path = Path.Combine(_bin!, program);
        return _runAs is null ? RunAsync(path, arguments) : RunAsync(ExternalProgram.Require("runuser"), ["-u", _runAs, "--", path, .. arguments]);
    }

    /// <exception cref="InvalidOperationException">The program failed or hung; the message carries its output.</exception>
    private static async Task RunAsync(string path, IReadOnlyList<string> arguments)
    {
        var (exitCode, output) = await ExternalProgram.RunAsync(path, arguments, ProgramTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{path} {string.Join(' ', arguments)} exited with {exitCode}: {output}");
        }
    }
}
