namespace EdgeGreen.ControlPlane.Core.Monitoring;

public static class MonitoringExtensions
{
    /// <summary>Monitoring of served traffic: references, ingest of agents' summaries, drift, retention (<c>EdgeGreen:Monitoring</c>).</summary>
    public static IHostApplicationBuilder AddMonitoringCore(this IHostApplicationBuilder builder)
    {
        const string Section = MonitoringOptions.SectionName;
        builder.Services.AddOptions<MonitoringOptions>().BindConfiguration(Section)
            .Validate(o => o.HourRetention >= TimeSpan.FromDays(1), $"{Section}:HourRetention must be at least 1.00:00:00.")
            .Validate(o => o.DetailRetention >= TimeSpan.FromHours(1), $"{Section}:DetailRetention must be at least 01:00:00.")
            .Validate(o => o.RetentionInterval >= TimeSpan.FromMinutes(1), $"{Section}:RetentionInterval must be at least 00:01:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<MonitoringMetrics>();
        builder.Services.AddSingleton<IReferencePredictor, OnnxReferencePredictor>();
        builder.Services.AddSingleton<ReferenceProfiles>();
        builder.Services.AddSingleton<InferenceIngest>();
        builder.Services.AddSingleton<DriftReports>();
        builder.Services.AddSingleton<PerformanceReports>();
        builder.Services.AddSingleton<Experiments>();
        builder.Services.AddSingleton<MonitoringRetention>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MonitoringRetention>());
        return builder;
    }
}
