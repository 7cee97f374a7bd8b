using EdgeGreen.Agent;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Microsoft.Extensions.Options;
using static System.FormattableString;

namespace EdgeGreen.ControlPlane.Storage;

/// <summary>
/// <c>EdgeGreen.ControlPlane copy-to-postgres</c>: copies the LiteDB database of a data directory
/// into a PostgreSQL database (migrated first, and empty of agents, jobs and the rest; see
/// <see cref="StorageCopy"/>), then verifies it. Progress goes to <c>progress</c> (stderr), the
/// summary to <c>output</c> (stdout). Exit codes: 0 copied and verified; 1 the copy failed or the
/// verification found a mismatch; 2 nothing was done (bad arguments, no LiteDB database, the target
/// already in use).
/// </summary>
public static class CopyToPostgresCommand
{
    public const string Usage =
        "usage: EdgeGreen.ControlPlane copy-to-postgres [--data-directory DIR] [--connection \"Host=…;Database=…;Username=…;Password=…\"]\n" +
        "  --data-directory  the LiteDB control plane's data directory (default: EdgeGreen:Storage:DataDirectory, else ./data)\n" +
        "  --connection      the PostgreSQL database to copy into (default: ConnectionStrings:EdgeGreen)";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? dataDirectory = null, connectionString = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data-directory" when i + 1 < args.Length:
                    dataDirectory = args[++i];
                    break;
                case "--connection" when i + 1 < args.Length:
                    connectionString = args[++i];
                    break;
                case "--help" or "-h":
                    await output.WriteLineAsync(Usage);
                    return 0;
                default:
                    await progress.WriteLineAsync($"copy-to-postgres: cannot use '{args[i]}'.\n{Usage}");
                    return 2;
            }
        }

        // The same settings the control plane would start with: its defaults, appsettings.json, environment variables.
        var configuration = new ConfigurationBuilder()
            .AddDefaults(ControlPlaneExtensions.Defaults)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        dataDirectory ??= configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.DataDirectory)}"];
        connectionString ??= configuration.GetConnectionString("EdgeGreen");
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            await progress.WriteLineAsync($"copy-to-postgres: no data directory: give --data-directory or set {StorageOptions.SectionName}:DataDirectory.");
            return 2;
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await progress.WriteLineAsync($"copy-to-postgres: no target database: give --connection or set {PostgresStorageExtensions.ConnectionStringKey}.");
            return 2;
        }

        dataDirectory = Path.GetFullPath(dataDirectory);
        var file = Path.Combine(dataDirectory, "edgegreen.db");
        if (!File.Exists(file))
        {
            await progress.WriteLineAsync($"copy-to-postgres: there is no LiteDB database in {dataDirectory} ({file} does not exist).");
            return 2;
        }

        PostgresDatabase postgres;
        try
        {
            postgres = new PostgresDatabase(connectionString, logger: null,
                configuration.GetValue($"{StorageOptions.SectionName}:{nameof(StorageOptions.TimescaleDb)}", TimescaleDbUse.Auto));
        }
        catch (ArgumentException ex)
        {
            // The message names the offending keyword, never a value: no password is echoed.
            await progress.WriteLineAsync($"copy-to-postgres: the connection string is not one PostgreSQL understands: {ex.Message}");
            return 2;
        }

        await using (postgres)
        {
            LiteDbDatabase liteDb;
            try
            {
                liteDb = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = dataDirectory }));
            }
            catch (Exception ex) when (ex is StorageException or IOException or UnauthorizedAccessException)
            {
                await progress.WriteLineAsync($"copy-to-postgres: cannot open {file}: {ex.Message}\nStop the control plane that uses it, then copy again.");
                return 2;
            }

            using (liteDb)
            {
                return await CopyAsync(liteDb, postgres, output, progress, cancellationToken);
            }
        }
    }

    private static async Task<int> CopyAsync(LiteDbDatabase liteDb, PostgresDatabase postgres, TextWriter output, TextWriter progress,
        CancellationToken cancellationToken)
    {
        await progress.WriteLineAsync($"copy-to-postgres: from {liteDb.Path} (LiteDB) to PostgreSQL at {postgres.Location}");
        try
        {
            await postgres.MigrateAsync(cancellationToken);
        }
        catch (StorageException ex)
        {
            await progress.WriteLineAsync($"copy-to-postgres: cannot reach or migrate PostgreSQL at {postgres.Location}: {ex.Message}");
            return 1;
        }

        var source = new StoreSet(new LiteDbAgentStore(liteDb), new LiteDbTelemetryStore(liteDb), new LiteDbAccessStore(liteDb), new LiteDbJobStore(liteDb),
            new LiteDbDatasetStore(liteDb), new LiteDbModelStore(liteDb), new LiteDbWebhookStore(liteDb), new LiteDbPipelineStore(liteDb), new LiteDbDeploymentStore(liteDb), new LiteDbAlertStore(liteDb));
        var target = new StoreSet(new PostgresAgentStore(postgres), new PostgresTelemetryStore(postgres), new PostgresAccessStore(postgres), new PostgresJobStore(postgres),
            new PostgresDatasetStore(postgres), new PostgresModelStore(postgres), new PostgresWebhookStore(postgres), new PostgresPipelineStore(postgres), new PostgresDeploymentStore(postgres), new PostgresAlertStore(postgres));
        StorageCopyResult result;
        try
        {
            result = await new StorageCopy(source, target, progress).RunAsync(cancellationToken);
        }
        catch (StorageException ex)
        {
            await progress.WriteLineAsync($"copy-to-postgres: the copy failed: {ex.Message}\n" +
                $"PostgreSQL at {postgres.Location} now holds part of the data: drop the database and create it again before copying again.");
            return 1;
        }

        if (result.Refusal is { } refusal)
        {
            await progress.WriteLineAsync($"copy-to-postgres: refused, nothing copied: {refusal}.");
            return 2;
        }

        await WriteSummaryAsync(output, result, Path.GetDirectoryName(liteDb.Path)!, postgres.Location);
        if (!result.Verified)
        {
            await progress.WriteLineAsync("copy-to-postgres: the verification failed:");
            foreach (var mismatch in result.Mismatches)
            {
                await progress.WriteLineAsync($"  - {mismatch}");
            }

            return 1;
        }

        return 0;
    }

    private static async Task WriteSummaryAsync(TextWriter output, StorageCopyResult result, string dataDirectory, string location)
    {
        await output.WriteLineAsync($"Copied {Path.Combine(dataDirectory, "edgegreen.db")} (LiteDB) into PostgreSQL at {location}.");
        await output.WriteLineAsync(Invariant($"{"kind",-20} {"source",14} {"target",14}"));
        foreach (var count in result.Counts)
        {
            await output.WriteLineAsync(Invariant($"{count.Kind,-20} {count.Source,14:N0} {count.Target,14:N0}{(count.Source == count.Target ? "" : "   MISMATCH")}"));
        }

        if (result.Warnings.Count > 0)
        {
            await output.WriteLineAsync("Warning: not copied, or different in the target:");
            foreach (var warning in result.Warnings)
            {
                await output.WriteLineAsync($"  - {warning}");
            }
        }

        await output.WriteLineAsync(
            $"Content files (datasets and model artifacts, in {Path.Combine(dataDirectory, "blobs")}), the key ring that webhook secrets are encrypted under " +
            $"({Path.Combine(dataDirectory, "keys")} unless EdgeGreen:Security:KeyDirectory says otherwise) and the admin key file stay in {dataDirectory}: " +
            $"the PostgreSQL control plane reads them from its own {StorageOptions.SectionName}:DataDirectory, so start it with that set to {dataDirectory} " +
            "(or move the directory and set it to the new place).");
        await output.WriteLineAsync(result.Verified
            ? "Verified: every kind holds as many records in the target as in the source, and each agent's durable sequence and reading count match."
            : "NOT verified: the mismatches are listed on stderr.");
    }
}
