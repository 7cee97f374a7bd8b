using System.Globalization;

namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// The parameters of kinds that run for a set time on a number of threads (<c>burn</c>,
/// <c>serve</c>): <c>duration</c> (ISO 8601, required, at most 7 days) and <c>threads</c>
/// (default 1, at most 256).
/// </summary>
public static class TimedWork
{
    public const string DurationParameter = "duration";
    public const string ThreadsParameter = "threads";

    private const int MaxThreads = 256;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);

    /// <summary>Adds to <paramref name="errors"/> what is wrong with <c>duration</c> and <c>threads</c>.</summary>
    public static void Check(IReadOnlyDictionary<string, string> parameters, Dictionary<string, string> errors, string exampleDuration)
    {
        if (Duration(parameters) is not { } duration || duration <= TimeSpan.Zero || duration > MaxDuration)
        {
            errors[DurationParameter] = $"duration is required: a positive ISO 8601 duration of at most 7 days, e.g. {exampleDuration}.";
        }

        if (parameters.TryGetValue(ThreadsParameter, out var text)
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var threads) && threads is >= 1 and <= MaxThreads))
        {
            errors[ThreadsParameter] = $"threads must be a whole number from 1 to {MaxThreads}.";
        }
    }

    public static TimeSpan? Duration(IReadOnlyDictionary<string, string> parameters) =>
        parameters.TryGetValue(DurationParameter, out var text) && Durations.TryParse(text, out var duration) ? duration : null;

    /// <summary>The thread count when the parameters give a valid one, else null.</summary>
    public static int? ThreadsGiven(IReadOnlyDictionary<string, string> parameters) =>
        parameters.TryGetValue(ThreadsParameter, out var text)
        && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var threads) && threads is >= 1 and <= MaxThreads
            ? threads
            : null;

    /// <summary>The thread count of validated parameters (1 when not given).</summary>
    public static int Threads(IReadOnlyDictionary<string, string> parameters) =>
        parameters.TryGetValue(ThreadsParameter, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : 1;
}
