using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// A PostgreSQL server for one benchmark run, from the OS packages (<c>tests/run.sh</c> installs
/// them): <c>initdb</c> in a temporary directory, started with its default durability (fsync and
/// synchronous commit on, unlike the test suite's server) on a free loopback port, with
/// <c>max_wal_size</c> raised from 1 GB to 8 GB as the server's own hint asks for under a fleet's
/// writes (at 10,000 agents the default forced a checkpoint every 30 s), a fresh
/// database per measurement, stopped and deleted at the end. As root it runs as <c>postgres</c>
/// (or <c>nobody</c>), which PostgreSQL requires. With <c>timescaleDb</c> it preloads TimescaleDB
/// (installed by the operator: Debian's archive does not carry it) and installs the extension in
/// every database it makes, so that the store keeps raw readings in a hypertable.
/// </summary>
internal sealed class BenchmarkPostgres : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;
    private readonly string? _runAs;
    private readonly int _port;
    private readonly string _connectionSettings;

    private BenchmarkPostgres(string directory, string bin, string? runAs, int port, string connectionSettings, bool timescaleDb) =>
        (_directory, _bin, _runAs, _port, _connectionSettings, TimescaleDb) = (directory, bin, runAs, port, connectionSettings, timescaleDb);

    /// <summary>Whether every database made here has TimescaleDB installed.</summary>
    public bool TimescaleDb { get; }

    /// <param name="connectionSettings">
    /// Npgsql settings added to the control plane's connection string (<c>;Name=value</c>…), to
    /// measure without one of EdgeGreen's own defaults: <c>Connection Idle Lifetime=300</c> or
    /// <c>Max Auto Prepare=0</c>, Npgsql's own, show what those defaults avoid.
    /// </param>
    /// <param name="maxWalSize">The server's <c>max_wal_size</c>; <c>1GB</c>, PostgreSQL's default, shows the forced checkpoints.</param>
    /// <param name="timescaleDb">Whether to preload TimescaleDB and install it in every database.</param>
    public static async Task<BenchmarkPostgres> StartAsync(string connectionSettings = "", string maxWalSize = "8GB", bool timescaleDb = false)
    {
        var bin = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/lib/postgresql/15/bin")
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")) : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("PostgreSQL's initdb was not found; tests/run.sh installs PostgreSQL from the OS packages.");
        var directory = Directory.CreateTempSubdirectory("edgegreen-pg-").FullName;
        string? runAs = null;
        if (Environment.UserName == "root")
        {
            runAs = File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)) ? "postgres" : "nobody";
            await RunAsync("chown", ["-R", runAs, directory]);
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var server = new BenchmarkPostgres(directory, bin, runAs, port, connectionSettings, timescaleDb);
        await server.RunPostgresAsync("initdb", ["-D", Path.Combine(directory, "data"), "-U", "edgegreen", "--auth=trust", "-E", "UTF8", "--locale=C"]);
        await server.RunPostgresAsync("pg_ctl", ["-D", Path.Combine(directory, "data"), "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60", "-o",
            string.Create(CultureInfo.InvariantCulture, $"-k {directory} -h 127.0.0.1 -p {port} -c max_connections=300 -c shared_buffers=512MB -c max_wal_size={maxWalSize} -c log_autovacuum_min_duration=0 -c log_lock_waits=on{(timescaleDb ? " -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off" : "")}"), "start"]);
        return server;
    }

    /// <summary>A connection string to a new, empty database.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using var admin = NpgsqlDataSource.Create(Connection("postgres"));
        await using (var command = admin.CreateCommand($"CREATE DATABASE {name}"))
        {
            await command.ExecuteNonQueryAsync();
        }

        if (TimescaleDb)
        {
            await using var database = NpgsqlDataSource.Create(Connection(name));
            await using var install = database.CreateCommand("CREATE EXTENSION timescaledb");
            await install.ExecuteNonQueryAsync();
        }

        return Connection(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await RunPostgresAsync("pg_ctl", ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"]);
        // What the server's log says of its checkpoints, before the log goes with the directory.
        var log = File.ReadAllLines(Path.Combine(_directory, "server.log"));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PostgreSQL checkpoints: {log.Count(l => l.Contains("checkpoint starting: time", StringComparison.Ordinal))} timed, {log.Count(l => l.Contains("checkpoint starting: wal", StringComparison.Ordinal))} forced by WAL; {log.Count(l => l.Contains("checkpoints are occurring too frequently", StringComparison.Ordinal))} warnings that they come too often{string.Concat(log.Where(l => l.Contains("checkpoints are occurring too frequently", StringComparison.Ordinal)).Take(1).Select(l => $" (first: {l[(l.IndexOf("checkpoints", StringComparison.Ordinal))..]})"))}"));
        Directory.Delete(_directory, recursive: true);
    }

    private string Connection(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={_port};Username=edgegreen;Database={database};Maximum Pool Size=100") + _connectionSettings;

    private Task RunPostgresAsync(string program, string[] arguments) => _runAs is null
        ? RunAsync(Path.Combine(_bin, program), arguments)
        : RunAsync("runuser", ["-u", _runAs, "--", Path.Combine(_bin, program), .. arguments]);

    private static async Task RunAsync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
