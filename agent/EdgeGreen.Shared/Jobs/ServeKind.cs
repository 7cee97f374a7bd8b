namespace EdgeGreen.Shared.Jobs;

/// <summary>
/// <c>serve</c>: online inference of a registered <c>model</c> for <c>duration</c> on <c>threads</c>
/// intra-op threads (the control plane fills in a profiled recommendation when none is given).
/// </summary>
public sealed class ServeKind : JobKind
{
    public const string KindName = "serve";

    public override string Name => KindName;

    public override IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string> parameters)
    {
        var errors = ModelJobParameters.Validate(KindName, parameters, [TimedWork.DurationParameter, TimedWork.ThreadsParameter], DatasetUse.None);
        TimedWork.Check(parameters, errors, "PT1H");
        return errors;
    }

    public override TimeSpan? ImpliedDuration(IReadOnlyDictionary<string, string> parameters) => TimedWork.Duration(parameters);

    public override int? ImpliedCpuCores(IReadOnlyDictionary<string, string> parameters) => TimedWork.ThreadsGiven(parameters);
}
