namespace EdgeGreen.ControlPlane.Core.Jobs;

public static class JobsExtensions
{
    /// <summary>Jobs, the carbon-aware scheduler and job execution on agents (<c>EdgeGreen:Scheduling</c>).</summary>
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SchedulingOptions>().BindConfiguration(SchedulingOptions.SectionName)
            .Validate(o => o.SlotDuration >= TimeSpan.FromSeconds(1) && o.SlotDuration <= TimeSpan.FromHours(1),
                "EdgeGreen:Scheduling:SlotDuration must be between 00:00:01 and 01:00:00.")
            .Validate(o => o.Horizon >= o.SlotDuration && o.Horizon <= TimeSpan.FromDays(14) && o.Horizon / o.SlotDuration <= 20_000,
                "EdgeGreen:Scheduling:Horizon must be at least one slot, at most 14 days and at most 20000 slots.")
            .Validate(o => o.ReplanInterval > TimeSpan.Zero, "EdgeGreen:Scheduling:ReplanInterval must be positive.")
            .Validate(o => o.DispatchInterval >= TimeSpan.FromMilliseconds(10), "EdgeGreen:Scheduling:DispatchInterval must be at least 00:00:00.010.")
            .Validate(o => o.LeaseDuration >= TimeSpan.FromMilliseconds(100), "EdgeGreen:Scheduling:LeaseDuration must be at least 00:00:00.100.")
            .Validate(o => o.MaxAttempts is >= 1 and <= 100, "EdgeGreen:Scheduling:MaxAttempts must be between 1 and 100.")
            .Validate(o => double.IsFinite(o.DefaultPowerWattsPerCore) && o.DefaultPowerWattsPerCore > 0,
                "EdgeGreen:Scheduling:DefaultPowerWattsPerCore must be a positive number.")
            .Validate(o => o.EstimateHistory is >= 1 and <= 1000, "EdgeGreen:Scheduling:EstimateHistory must be between 1 and 1000.")
            .ValidateOnStart();
        builder.Services.AddSingleton<JobMetrics>();
        builder.Services.AddSingleton<JobDispatcher>();
        builder.Services.AddSingleton<JobAccounting>();
        builder.Services.AddSingleton<FleetPlanning>();
        builder.Services.AddSingleton<JobSubmissions>();
        builder.Services.AddSingleton<JobScheduler>();
        builder.Services.AddHostedService<SchedulerService>();
        return builder;
    }
}
