namespace EdgeGreen.Agent;

/// <summary>Settings of an agent, bound from <c>EdgeGreen:Agent</c> (or <c>EdgeGreen:LocalAgent</c> in the control plane).</summary>
public sealed class AgentOptions
{
    public const string SectionName = "EdgeGreen:Agent";

    /// <summary>The control plane's gRPC address, e.g. <c>https://controlplane.example:5081</c> (TLS) or <c>http://localhost:5081</c>.</summary>
    public Uri? ControlPlaneUrl { get; set; }

    /// <summary>How the agent trusts the control plane and proves itself to it over TLS (see docs/tls.md).</summary>
    public ControlPlaneTlsOptions Tls { get; set; } = new();

    /// <summary>One-time token used to enrol when the data directory holds no credential yet.</summary>
    public string? EnrollmentToken { get; set; }

    /// <summary>Where the credential and the outbox live.</summary>
    public string DataDirectory { get; set; } = "agent-data";

    public string Name { get; set; } = Environment.MachineName;

    /// <summary>Grid zone the agent draws power from, e.g. <c>ES</c>.</summary>
    public string Zone { get; set; } = "";

    public Dictionary<string, string> Labels { get; set; } = [];

    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the stand-alone agent serves <c>/metrics</c> and <c>/healthz</c>: <c>http://HOST:PORT/</c>, with host <c>+</c> to listen on every address.</summary>
    public string HttpUrl { get; set; } = "http://localhost:5090/";

    /// <summary>
    /// Where the stand-alone agent serves the Open Inference Protocol over gRPC (h2c),
    /// <c>http://HOST:PORT</c>; unset (the default): not served, and no gRPC server is loaded. The
    /// control plane's local agent ignores it: the control plane serves that on its own gRPC port.
    /// </summary>
    public string? GrpcUrl { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A sensor value implying more power than this is impossible for one node and is dropped.</summary>
    public double MaxPlausiblePowerWatts { get; set; } = 20_000;

    public UplinkOptions Uplink { get; set; } = new();

    public OutboxOptions Outbox { get; set; } = new();

    public CpuModelOptions CpuModel { get; set; } = new();

    public JobsOptions Jobs { get; set; } = new();

    public SensorsOptions Sensors { get; set; } = new();

    public AttributionOptions Attribution { get; set; } = new();

    public InferenceOptions Inference { get; set; } = new();

    public EmbodiedOptions Embodied { get; set; } = new();

    public MonitoringOptions Monitoring { get; set; } = new();
}

/// <summary>
/// TLS to the control plane: an <c>https://</c> ControlPlaneUrl is verified against the CA bundle
/// when one is set (else the operating system's store), and the agent presents its client
/// certificate when one is set. The bearer credential stays the agent's identity either way.
/// </summary>
public sealed class ControlPlaneTlsOptions
{
    /// <summary>PEM file of the CA certificate(s) that sign the control plane's certificate; unset: the operating system's store.</summary>
    public string? CaBundlePath { get; set; }

    /// <summary>With a CaBundlePath, also accept a certificate the operating system's store trusts.</summary>
    public bool AlsoTrustSystemStore { get; set; }

    /// <summary>PEM certificate presented to a control plane that asks for client certificates (mutual TLS); needs ClientKeyPath.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>PEM private key (unencrypted PKCS#8, PKCS#1 or SEC1) of ClientCertificatePath.</summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>
    /// Lets the agent send its credential over plain <c>http://</c> to a host other than loopback
    /// (a network the operator trusts, or a TLS-terminating proxy beside the agent). Off: such a
    /// ControlPlaneUrl fails at start.
    /// </summary>
    public bool AllowPlaintext { get; set; }
}

/// <summary>The machine's embodied emissions, for SCI's M (see <see cref="Jobs.EmbodiedCarbon"/>).</summary>
public sealed class EmbodiedOptions
{
    /// <summary>
    /// Total embodied emissions of the machine in grams CO₂e (its manufacturer's product carbon
    /// footprint, manufacturing and transport); unset: M is not counted and is reported as null.
    /// </summary>
    public double? CarbonGrams { get; set; }

    /// <summary>The machine's expected service life, over which its embodied emissions are spread.</summary>
    public TimeSpan Lifespan { get; set; } = TimeSpan.FromDays(4 * 365.25);
}

/// <summary>How the agent's ML jobs run ONNX models.</summary>
public sealed class InferenceOptions
{
    /// <summary>Auto: CUDA where ONNX Runtime has it and a GPU answers, else the CPU; Cpu or Cuda ask for one.</summary>
    public string Provider { get; set; } = "Auto";
}

/// <summary>How node energy is split between idle, jobs and the rest.</summary>
public sealed class AttributionOptions
{
    /// <summary>Idle power by domain (e.g. <c>gpu0</c>: 70); a domain not listed uses its model's idle term or its lowest recent power.</summary>
    public Dictionary<string, double> IdlePowerWatts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How far back the lowest power of a measured domain is taken as its idle power.</summary>
    public TimeSpan IdleWindow { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Where hardware sensors are read, and which are on.</summary>
public sealed class SensorsOptions
{
    /// <summary>Root of the sysfs tree (powercap, hwmon, power_supply); tests point it at a fixture tree.</summary>
    public string SysfsRoot { get; set; } = "/sys";

    /// <summary>Root of the proc filesystem (the utilisation model reads <c>stat</c>); tests point it at a fixture tree.</summary>
    public string ProcRoot { get; set; } = "/proc";

    /// <summary>The NVML library to bind (a path or a name the loader resolves).</summary>
    public string NvmlLibrary { get; set; } = "libnvidia-ml.so.1";

    public RaplOptions Rapl { get; set; } = new();

    public NvmlOptions Nvml { get; set; } = new();

    public HwmonOptions Hwmon { get; set; } = new();

    public PowerSupplyOptions PowerSupply { get; set; } = new();

    public RamModelOptions RamModel { get; set; } = new();
}

/// <summary>NVIDIA GPUs through NVML.</summary>
public sealed class NvmlOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Auto: the total-energy counter where the GPU has one, else power integration; Counter or Power force one.</summary>
    public Sensors.Nvml.NvmlMethod Method { get; set; } = Sensors.Nvml.NvmlMethod.Auto;
}

/// <summary>hwmon energy and power channels.</summary>
public sealed class HwmonOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>hwmon chip names (the <c>name</c> file) to leave out, e.g. one that measures what another sensor already does.</summary>
    public List<string> IgnoreChips { get; set; } = [];
}

/// <summary>Batteries of the power_supply class.</summary>
public sealed class PowerSupplyOptions
{
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// The RAM model used where no DRAM counter is readable: per module,
/// P = IdleWattsPerModule + u × (ActiveWattsPerModule − IdleWattsPerModule), u the CPU busy share
/// as a proxy for memory traffic. Power follows the number of modules, not gigabytes: a DIMM's
/// draw barely depends on its size.
/// </summary>
public sealed class RamModelOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Installed memory modules (see <c>dmidecode -t memory</c>); 0 infers one per 16 GiB of MemTotal, at least 1, at most 16.</summary>
    public int Modules { get; set; }

    public double IdleWattsPerModule { get; set; } = 1.0;

    public double ActiveWattsPerModule { get; set; } = 3.0;
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

    /// <summary>
    /// How long readings short of a full batch wait to travel together; 0 sends each sample at once.
    /// A reading reaches the control plane at most this much later.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Batches sent but not yet acknowledged before the sender waits.</summary>
    public int MaxInFlightBatches { get; set; } = 32;

    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>How the summaries of monitored deployments' traffic are kept and sent (see <see cref="Monitoring.InferenceMonitor"/>).</summary>
public sealed class MonitoringOptions
{
    /// <summary>Summaries kept while the control plane is unreachable; beyond it the oldest is dropped and counted.</summary>
    public int MaxPendingSummaries { get; set; } = 10_000;

    /// <summary>Predictions logged per version and window; beyond it they are counted, not logged.</summary>
    public int MaxPredictionsPerWindow { get; set; } = 10_000;

    /// <summary>How often finished windows are written to the outbox and pending summaries sent.</summary>
    public TimeSpan SendInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most bytes of summaries in one ReportInference call; a larger batch is split (a summary that is larger alone travels alone).</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;
}

public sealed class OutboxOptions
{
    /// <summary>Readings kept while the control plane is unreachable; beyond it the oldest are dropped and counted.</summary>
    public int MaxReadings { get; set; } = 1_000_000;
}

/// <summary>
/// The utilisation model used where no energy counter is readable:
/// P = Idle + u × (Max − Idle), with u the busy share of all logical CPUs from /proc/stat. Idle and
/// Max are IdleWatts and MaxWatts for the node when set (a calibration, e.g. from
/// <c>EdgeGreen.Agent calibrate</c> on a node with RAPL), else the per-CPU coefficients times the
/// logical CPUs. The per-CPU defaults are the Cloud Carbon Footprint coefficients for an average
/// cloud vCPU.
/// </summary>
public sealed class CpuModelOptions
{
    public bool Enabled { get; set; } = true;

    public double IdleWattsPerCpu { get; set; } = 0.74;

    public double MaxWattsPerCpu { get; set; } = 3.5;

    /// <summary>Calibrated idle power of the whole node's CPUs; overrides IdleWattsPerCpu.</summary>
    public double? IdleWatts { get; set; }

    /// <summary>Calibrated full-load power of the whole node's CPUs; overrides MaxWattsPerCpu.</summary>
    public double? MaxWatts { get; set; }

    /// <summary>The model's idle and full-load watts for a node with <paramref name="logicalCpus"/> CPUs.</summary>
    public (double Idle, double Max) For(int logicalCpus) =>
        (IdleWatts ?? logicalCpus * IdleWattsPerCpu, MaxWatts ?? logicalCpus * MaxWattsPerCpu);
}
