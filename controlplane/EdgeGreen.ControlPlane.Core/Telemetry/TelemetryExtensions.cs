namespace EdgeGreen.ControlPlane.Core.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Group-committed ingest, tiered queries and retention (<c>EdgeGreen:Telemetry</c>).</summary>
    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        const string Section = TelemetryOptions.SectionName;
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(Section)
            .Validate(o => o.RawRetention is null || o.RawRetention >= TimeSpan.FromHours(1), $"{Section}:RawRetention must be at least 01:00:00 (or empty to keep raw readings).")
            .Validate(o => o.MinuteRetention is null || o.MinuteRetention >= TimeSpan.FromHours(1), $"{Section}:MinuteRetention must be at least 01:00:00 (or empty to keep).")
            .Validate(o => o.HourRetention is null || o.HourRetention >= TimeSpan.FromDays(1), $"{Section}:HourRetention must be at least 1.00:00:00 (or empty to keep).")
            .Validate(o => o.RetentionInterval >= TimeSpan.FromMinutes(1), $"{Section}:RetentionInterval must be at least 00:01:00.")
            .Validate(o => o.MaxBatchesPerCommit is null or (>= 1 and <= 100_000), $"{Section}:MaxBatchesPerCommit must be between 1 and 100000 (or empty for the store's own).")
            .Validate(o => o.ConcurrentCommits is null or (>= 1 and <= 64), $"{Section}:ConcurrentCommits must be between 1 and 64.")
            .Validate(o => o.QueueCapacity is >= 1 and <= 1_000_000, $"{Section}:QueueCapacity must be between 1 and 1000000.")
            .ValidateOnStart();
        builder.Services.AddSingleton<TelemetryWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelemetryWriter>());
        builder.Services.AddSingleton<TelemetryQueries>();
        builder.Services.AddSingleton<TelemetryRetention>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelemetryRetention>());
        return builder;
    }
}
