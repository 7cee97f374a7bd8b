namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary><c>EdgeGreen:Pipelines</c>: how pipeline definitions are bounded and how often runs advance.</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "EdgeGreen:Pipelines";

    /// <summary>How often the leader advances unfinished runs (a job's end also wakes it at once).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest definition a PUT may send, in bytes.</summary>
    public int MaxDefinitionBytes { get; set; } = 256 * 1024;
}
