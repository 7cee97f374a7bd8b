namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// <c>burn</c>: CPU work for a given time on <c>threads</c> threads (default 1, at most 256) for
/// <c>duration</c> (ISO 8601, at most 7 days).
/// </summary>
public sealed class BurnKind : JobKind
{
    public const string KindName = "burn";

    public override string Name => KindName;

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = new Dictionary<string, string>();
        TimedWork.Check(parameters, errors, "PT30S");
        foreach (var unknown in parameters.Keys.Where(k => k is not TimedWork.DurationParameter and not TimedWork.ThreadsParameter))
        {
            errors[unknown] = $"burn takes only {TimedWork.DurationParameter} and {TimedWork.ThreadsParameter}.";
        }

        return errors;
    }

    public override TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters) => TimedWork.Duration(parameters);

    public override int? ImpliedCpuCores(IReadOnlyDictionary<string, string> parameters) => TimedWork.ThreadsGiven(parameters);
}
