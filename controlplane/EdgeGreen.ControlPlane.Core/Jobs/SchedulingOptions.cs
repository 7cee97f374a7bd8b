namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>What happens to a job whose best placement exceeds its carbon or energy budget.</summary>
public enum OverBudgetPolicy
{
    /// <summary>Refuse it with the reason (422 at submission; status <c>rejected</c> at a later replanning).</summary>
    Reject,

    /// <summary>Keep it <c>held</c> and replan it until it fits its budget or its deadline passes.</summary>
    Hold,
}

/// <summary>What happens to a running job whose energy or emissions so far exceed its budget.</summary>
public enum OverrunPolicy
{
    /// <summary>Stop it; its status becomes <c>stopped</c>.</summary>
    Stop,

    /// <summary>Let it finish, flagged <c>overBudget</c>.</summary>
    Flag,
}

/// <summary>The scheduler and job execution, bound from <c>EdgeGreen:Scheduling</c>.</summary>
public sealed class SchedulingOptions
{
    public const string SectionName = "EdgeGreen:Scheduling";

    /// <summary>The planner's time step: jobs start on slot boundaries and reserve whole slots.</summary>
    public TimeSpan SlotDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far ahead the planner looks; also the longest job it accepts.</summary>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromHours(48);

    /// <summary>How often pending jobs are replanned on fresh forecasts (also after submissions, lost leases and agent changes).</summary>
    public TimeSpan ReplanInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often due jobs are handed to agents and expired leases collected.</summary>
    public TimeSpan DispatchInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an agent holds a job without a heartbeat or progress report naming it.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Runs of one job (a lost lease starts another) before it is marked failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    public OverBudgetPolicy OverBudget { get; set; } = OverBudgetPolicy.Reject;

    public OverrunPolicy Overrun { get; set; } = OverrunPolicy.Stop;

    /// <summary>Power assumed per reserved core for a job that gives none and has no history (the CPU model's busy vCPU).</summary>
    public double DefaultPowerWattsPerCore { get; set; } = 3.5;

    /// <summary>Finished jobs of the same name whose median fills in missing estimates.</summary>
    public int EstimateHistory { get; set; } = 20;
}
