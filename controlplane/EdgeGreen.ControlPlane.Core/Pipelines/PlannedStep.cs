namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>Where and when one step of a pipeline plan runs, and the room it has.</summary>
/// <param name="Name">The step's name.</param>
/// <param name="Zone">The allowed zone with the least emissions at its planned start.</param>
/// <param name="ReadySlot">When its predecessors finish in this plan (or its earliest slot, if later).</param>
/// <param name="StartSlot">Its planned start.</param>
/// <param name="FinishSlot">Its planned start plus its duration.</param>
/// <param name="LatestFinishSlot">
/// The latest it may finish and still leave every successor its planned start: the earliest
/// planned start of its successors, or the run's deadline for a step nothing waits for (its
/// planned finish, if later, in a plan that misses the deadline). Submitted as a job with the
/// window [<paramref name="ReadySlot"/>, <paramref name="LatestFinishSlot"/>], the step may move to
/// a cleaner slot inside it without taking time from the steps after it.
/// </param>
/// <param name="ForecastCarbonGrams">Its expected emissions at its planned start and zone.</param>
public sealed record PlannedStep(
    string Name,
    string Zone,
    int ReadySlot,
    int StartSlot,
    int FinishSlot,
    int LatestFinishSlot,
    double ForecastCarbonGrams);
