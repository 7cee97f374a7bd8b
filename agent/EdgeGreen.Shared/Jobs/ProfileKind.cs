using System.Globalization;

namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// <c>profile</c>: a registered <c>model</c> served at every batch size (1, 8, 64) and thread count
/// (1, and all cores when more than one), <c>secondsPerConfiguration</c> each (default 5), with an
/// optional <c>dataset</c> to feed.
/// </summary>
public sealed class ProfileKind : JobKind
{
    public const string KindName = "profile";

    public override string Name => KindName;

    /// <summary>The batch sizes and thread counts a profile measures on this machine.</summary>
    public static IReadOnlyList<(int Batch, int Threads)> Configurations() =>
        [.. new[] { 1, 8, 64 }.SelectMany(b => (Environment.ProcessorCount > 1 ? new[] { 1, Environment.ProcessorCount } : [1]).Select(t => (b, t)))];

    public static TimeSpan SecondsPerConfiguration(IReadOnlyDictionary<string, string> parameters) =>
        TimeSpan.FromSeconds(int.Parse(parameters.GetValueOrDefault("secondsPerConfiguration", "5"), CultureInfo.InvariantCulture));

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = ModelJobParameters.Validate(KindName, parameters, ["secondsPerConfiguration"], DatasetUse.Optional);
        if (parameters.TryGetValue("secondsPerConfiguration", out var seconds)
            && !(int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 600))
        {
            errors["secondsPerConfiguration"] = "secondsPerConfiguration must be a whole number from 1 to 600.";
        }

        return errors;
    }

    public override TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters) =>
        Configurations().Count * (SecondsPerConfiguration(parameters) + TimeSpan.FromSeconds(2));
}
