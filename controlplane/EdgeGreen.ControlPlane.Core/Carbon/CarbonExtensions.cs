using EdgeGreen.ControlPlane.Core.Carbon.Sources;
using EdgeGreen.Shared;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Carbon;

public static class CarbonExtensions
{
    public const string ElectricityMaps = "electricitymaps";
    public const string UkCarbonIntensity = "uk-carbon-intensity";
    public const string WattTime = "watttime";

    private static readonly string[] KnownSources = [BundledTraceSource.SourceName, ElectricityMaps, UkCarbonIntensity, WattTime];

    public static IHostApplicationBuilder AddCarbon(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CarbonOptions>().BindConfiguration(CarbonOptions.SectionName)
            .Validate(o => o.ReplayYear is >= 2000 and <= 2100, "EdgeGreen:Carbon:ReplayYear must be a year between 2000 and 2100.")
            .Validate(o => o.EffectiveSources.All(KnownSources.Contains),
                $"EdgeGreen:Carbon:Sources may only name {string.Join(", ", KnownSources)}.")
            .Validate(o => o.CacheDuration >= TimeSpan.Zero, "EdgeGreen:Carbon:CacheDuration must not be negative.")
            .Validate(o => o.IntensityGaugeInterval >= TimeSpan.FromSeconds(1) && o.IntensityGaugeInterval <= TimeSpan.FromDays(1),
                "EdgeGreen:Carbon:IntensityGaugeInterval must be between 00:00:01 and 1.00:00:00.")
            .Validate(o => o.HttpAttemptTimeout > TimeSpan.Zero && o.HttpRetries is >= 1 and <= 10 && o.HttpRetryDelay > TimeSpan.Zero,
                "EdgeGreen:Carbon:HttpAttemptTimeout and HttpRetryDelay must be positive and HttpRetries between 1 and 10.")
            .ValidateOnStart();
        builder.Services.AddOptions<ElectricityMapsOptions>().BindConfiguration(ElectricityMapsOptions.SectionName);
        builder.Services.AddOptions<UkCarbonIntensityOptions>().BindConfiguration(UkCarbonIntensityOptions.SectionName);
        builder.Services.AddOptions<WattTimeOptions>().BindConfiguration(WattTimeOptions.SectionName);
        builder.Services.AddMemoryCache();

        AddHttpSource<ElectricityMapsSource>(builder.Services);
        AddHttpSource<UkCarbonIntensitySource>(builder.Services);
        AddHttpSource<WattTimeSource>(builder.Services);
        builder.Services.AddSingleton(sp => new FallbackCarbonSource(
            [.. sp.GetRequiredService<IOptions<CarbonOptions>>().Value.EffectiveSources.Select(name => Create(sp, name))],
            sp.GetRequiredService<Microsoft.Extensions.Caching.Memory.IMemoryCache>(),
            sp.GetRequiredService<IOptions<CarbonOptions>>(),
            sp.GetRequiredService<IMetricFactory>(),
            sp.GetRequiredService<LogThrottle>(),
            sp.GetRequiredService<ILogger<FallbackCarbonSource>>()));
        builder.Services.AddSingleton(new SeasonalForecaster());
        builder.Services.AddSingleton<CarbonIntensity>();
        builder.Services.AddSingleton<IntensityGauge>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IntensityGauge>());
        return builder;
    }

    private static ICarbonIntensitySource Create(IServiceProvider services, string name) => name switch
    {
        BundledTraceSource.SourceName => ActivatorUtilities.CreateInstance<BundledTraceSource>(services),
        ElectricityMaps => services.GetRequiredService<ElectricityMapsSource>(),
        UkCarbonIntensity => services.GetRequiredService<UkCarbonIntensitySource>(),
        WattTime => services.GetRequiredService<WattTimeSource>(),
        _ => throw new InvalidOperationException($"EdgeGreen:Carbon:Sources: unknown source '{name}'."),
    };

    /// <summary>A typed client with timeouts and retries from the standard resilience pipeline.</summary>
    private static void AddHttpSource<TSource>(IServiceCollection services) where TSource : class =>
        services.AddHttpClient<TSource>().AddResilienceHandler("carbon-source", (pipeline, context) =>
        {
            var carbon = context.ServiceProvider.GetRequiredService<IOptions<CarbonOptions>>().Value;
            pipeline
                .AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = carbon.HttpRetries,
                    Delay = carbon.HttpRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                })
                .AddTimeout(carbon.HttpAttemptTimeout);
        });
}
