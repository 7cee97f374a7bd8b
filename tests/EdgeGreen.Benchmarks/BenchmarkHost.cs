using EdgeGreen.ControlPlane.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeGreen.Benchmarks;

/// <summary>Which store a storage benchmark runs against: the embedded LiteDB file, or a PostgreSQL database (with TimescaleDB installed in it or not).</summary>
internal sealed record StorageTarget(string Name, string? PostgresConnectionString)
{
    public static StorageTarget LiteDb { get; } = new("LiteDB", null);

    public static StorageTarget Postgres(string connectionString, bool timescaleDb = false) =>
        new(timescaleDb ? "PostgreSQL + TimescaleDB" : "PostgreSQL", connectionString);

    public Dictionary<string, string?> Settings(string dataDirectory)
    {
        var settings = new Dictionary<string, string?> { ["EdgeGreen:Storage:DataDirectory"] = dataDirectory };
        if (PostgresConnectionString is { } connection)
        {
            settings["EdgeGreen:Storage:Provider"] = "Postgres";
            settings["ConnectionStrings:EdgeGreen"] = connection;
        }

        return settings;
    }
}

/// <summary>The store a benchmark names; each measurement gets an empty one (a new PostgreSQL database, or a new LiteDB directory).</summary>
internal sealed class StorageTargets(BenchmarkPostgres? postgres)
{
    public string Name => postgres is null ? StorageTarget.LiteDb.Name : postgres.TimescaleDb ? "PostgreSQL + TimescaleDB" : "PostgreSQL";

    public async Task<StorageTarget> FreshAsync() =>
        postgres is null ? StorageTarget.LiteDb : StorageTarget.Postgres(await postgres.CreateDatabaseAsync(), postgres.TimescaleDb);
}

/// <summary>A whole control plane in this process on loopback ports, as the single-node run starts it but without its local agent.</summary>
internal static class BenchmarkHost
{
    public static async Task<WebApplication> StartAsync(string directory, StorageTarget storage, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = directory,
            EnvironmentName = Environments.Production,
            // The control plane's own name, so that its dashboard finds its static files (scripts, styles).
            ApplicationName = typeof(ControlPlaneExtensions).Assembly.GetName().Name,
        });
        var settings = storage.Settings(directory);
        settings["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0";
        settings["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0";
        settings["EdgeGreen:LocalAgent:Enabled"] = "false";
        settings["EdgeGreen:Feed:Broker"] = "Off";
        settings["EdgeGreen:Datasets:SeedSample"] = "false";
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddControlPlane();
        var app = builder.Build();
        app.MapControlPlane();
        var output = Console.Out;
        // The control plane prints its banner and first admin key; keep the tables clean.
        Console.SetOut(TextWriter.Null);
        try
        {
            await app.StartAsync();
        }
        finally
        {
            Console.SetOut(output);
        }

        _ = app.Services.GetRequiredService<KestrelEndpoints>();
        return app;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
