namespace EdgeGreen.ControlPlane.Carbon;

public static class CarbonExtensions
{
    public static IHostApplicationBuilder AddCarbon(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CarbonOptions>().BindConfiguration(CarbonOptions.SectionName)
            .Validate(o => o.ReplayYear is >= 2000 and <= 2100, "EdgeGreen:Carbon:ReplayYear must be a year between 2000 and 2100.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ICarbonIntensitySource, BundledTraceSource>();
        builder.Services.AddSingleton(new SeasonalForecaster());
        builder.Services.AddSingleton<CarbonIntensity>();
        return builder;
    }
}
