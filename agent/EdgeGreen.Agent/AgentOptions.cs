namespace EdgeGreen.Agent;

/// <summary>Settings of an agent, bound from <c>EdgeGreen:Agent</c> (or <c>EdgeGreen:LocalAgent</c> in the control plane).</summary>
public sealed class AgentOptions
{
    public const string SectionName = "EdgeGreen:Agent";

    /// <summary>The control plane's gRPC address, e.g. <c>http://localhost:5081</c>.</summary>
    public Uri? ControlPlaneUrl { get; set; }

    /// <summary>One-time token used to enrol when the data directory holds no credential yet.</summary>
    public string? EnrollmentToken { get; set; }

    /// <summary>Where the credential and the outbox live.</summary>
    public string DataDirectory { get; set; } = "agent-data";

    public string Name { get; set; } = Environment.MachineName;

    /// <summary>Grid zone the agent draws power from, e.g. <c>ES</c>.</summary>
    public string Zone { get; set; } = "";

    public Dictionary<string, string> Labels { get; set; } = [];

    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A sensor value implying more power than this is impossible for one node and is dropped.</summary>
    public double MaxPlausiblePowerWatts { get; set; } = 20_000;

    public UplinkOptions Uplink { get; set; } = new();

    public OutboxOptions Outbox { get; set; } = new();

    public CpuModelOptions CpuModel { get; set; } = new();

    public JobsOptions Jobs { get; set; } = new();

    public SensorsOptions Sensors { get; set; } = new();
}

/// <summary>Where hardware sensors are read, and which are on.</summary>
public sealed class SensorsOptions
{
    /// <summary>Root of the sysfs tree (powercap, hwmon, power_supply); tests point it at a fixture tree.</summary>
    public string SysfsRoot { get; set; } = "/sys";

    /// <summary>Root of the proc filesystem (the utilisation model reads <c>stat</c>); tests point it at a fixture tree.</summary>
    public string ProcRoot { get; set; } = "/proc";

    public RaplOptions Rapl { get; set; } = new();
}

/// <summary>RAPL powercap counters; package zones always, the others on request.</summary>
public sealed class RaplOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Add the <c>dram</c> subzone as domain <c>dram</c>.</summary>
    public bool Dram { get; set; }

    /// <summary>Add the <c>psys</c> zone as domain <c>platform</c> (it includes the packages: do not sum it with them).</summary>
    public bool Psys { get; set; }
}

public sealed class JobsOptions
{
    /// <summary>Whether the agent takes jobs from the control plane.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often a running job reports progress and attributed energy (which also renews its lease).</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class UplinkOptions
{
    /// <summary>Readings per batch sent on the stream.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Batches sent but not yet acknowledged before the sender waits.</summary>
    public int MaxInFlightBatches { get; set; } = 8;

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class OutboxOptions
{
    /// <summary>Readings kept while the control plane is unreachable; beyond it the oldest are dropped and counted.</summary>
    public int MaxReadings { get; set; } = 1_000_000;
}

/// <summary>
/// The utilisation model used where no energy counter is readable: per logical CPU,
/// P = IdleWattsPerCpu + u × (MaxWattsPerCpu − IdleWattsPerCpu), with u the busy share from /proc/stat.
/// The defaults are the Cloud Carbon Footprint coefficients for an average cloud vCPU.
/// </summary>
public sealed class CpuModelOptions
{
    public bool Enabled { get; set; } = true;

    public double IdleWattsPerCpu { get; set; } = 0.74;

    public double MaxWattsPerCpu { get; set; } = 3.5;
}
