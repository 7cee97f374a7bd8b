namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// SCI's embodied term for work on this machine (ISO/IEC 21031:2024):
/// M = TE × (time reserved ÷ expected lifespan) × (resources reserved ÷ total resources), with TE
/// the machine's total embodied emissions and resources counted in CPU cores.
/// </summary>
public sealed record EmbodiedCarbon(double TotalGrams, TimeSpan Lifespan, int Cores)
{
    /// <summary>The embodied grams of holding <paramref name="coresReserved"/> cores for <paramref name="reserved"/>.</summary>
    public double Grams(TimeSpan reserved, double coresReserved) =>
        TotalGrams * (reserved / Lifespan) * (Math.Clamp(coresReserved, 0, Cores) / Cores);

    /// <summary>The configured share, or null when the machine's embodied emissions are not configured.</summary>
    public static EmbodiedCarbon? From(EmbodiedOptions options) =>
        options.CarbonGrams is { } grams ? new EmbodiedCarbon(grams, options.Lifespan, Environment.ProcessorCount) : null;
}
