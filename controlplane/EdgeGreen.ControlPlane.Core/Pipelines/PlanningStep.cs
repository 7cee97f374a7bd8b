namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// A step of a pipeline run that has yet to start, as <see cref="PipelinePlanner"/> sees it, in
/// whole slots of the intensity table (slot 0 is the table's first slot).
/// </summary>
/// <param name="Name">Unique among the run's steps.</param>
/// <param name="DurationSlots">Expected run time; 0 for steps that take no time (gates, alias moves).</param>
/// <param name="PowerWatts">Expected mean power draw while it runs.</param>
/// <param name="DependsOn">
/// The steps it waits for. Names that are not among the steps being planned are taken to be
/// finished or running: their expected finish belongs in <paramref name="EarliestSlot"/>.
/// </param>
/// <param name="Zones">Where it may run; null or empty: any zone the intensity table has.</param>
/// <param name="EarliestSlot">The first slot it may start in, e.g. when a running predecessor is expected to finish.</param>
public sealed record PlanningStep(
    string Name,
    int DurationSlots,
    double PowerWatts,
    IReadOnlyList<string> DependsOn,
    IReadOnlyList<string>? Zones = null,
    int EarliestSlot = 0);
