namespace EdgeGreen.Agent.Sensors.Nvml;

/// <summary>
/// GPU energy through NVML, one domain per GPU (<c>gpu0</c>, <c>gpu1</c>, …). A GPU with the
/// total-energy counter (Volta and newer) reports the counter's deltas; one without it reports its
/// power draw integrated over each interval (trapezoids between consecutive readings). A GPU that
/// offers neither is left out with the reason in the sensor list: never a silent zero.
/// </summary>
public sealed class NvmlSensor : IEnergySensor, IGpuProcessUsage, IDisposable
{
    public const string Kind = "nvml";

    private readonly NvmlLibrary _nvml;
    private readonly IReadOnlyList<NvmlGpu> _gpus;
    private readonly TimeProvider _timeProvider;
    private readonly CounterBaseline<ulong[]> _baseline;

    private NvmlSensor(NvmlLibrary nvml, IReadOnlyList<NvmlGpu> gpus, TimeProvider timeProvider)
    {
        _nvml = nvml;
        _gpus = gpus;
        _timeProvider = timeProvider;
        _baseline = new CounterBaseline<ulong[]>(timeProvider);
    }

    public string Id => Kind;

    public IReadOnlyList<NvmlGpu> Gpus => _gpus;

    /// <summary>
    /// Opens NVML and finds the GPUs whose energy can be read. Null with the reason when the
    /// library is absent or no GPU is usable; a GPU left out of a usable set is named in its note.
    /// </summary>
    public static NvmlSensor? TryCreate(string libraryName, NvmlMethod method, TimeProvider timeProvider, out string? reason)
    {
        if (NvmlLibrary.TryOpen(libraryName, out reason) is not { } nvml)
        {
            return null;
        }

        var result = nvml.GetDeviceCount(out var count);
        if (result != NvmlReturn.Success || count == 0)
        {
            reason = result == NvmlReturn.Success ? "NVML reports no GPU" : $"NVML cannot count GPUs: {nvml.Describe(result)}";
            nvml.Dispose();
            return null;
        }

        var gpus = new List<NvmlGpu>();
        var skipped = new List<string>();
        for (uint index = 0; index < count; index++)
        {
            if ((result = nvml.GetHandle(index, out var device)) != NvmlReturn.Success)
            {
                skipped.Add($"gpu{index}: {nvml.Describe(result)}");
                continue;
            }

            var counter = method == NvmlMethod.Power ? NvmlReturn.NotSupported : nvml.GetTotalEnergyConsumption(device, out _);
            var power = nvml.GetPowerUsage(device, out _);
            if (counter == NvmlReturn.Success)
            {
                gpus.Add(new NvmlGpu(index, device, $"gpu{index}", nvml.GetName(device), usesCounter: true));
            }
            else if (method != NvmlMethod.Counter && power == NvmlReturn.Success)
            {
                gpus.Add(new NvmlGpu(index, device, $"gpu{index}", nvml.GetName(device), usesCounter: false));
            }
            else
            {
                skipped.Add($"gpu{index}: neither energy counter ({nvml.Describe(counter)}) nor power reading ({nvml.Describe(power)})");
            }
        }

        if (gpus.Count == 0)
        {
            reason = "no GPU energy is readable: " + string.Join("; ", skipped);
            nvml.Dispose();
            return null;
        }

        reason = skipped.Count == 0 ? null : "left out " + string.Join("; ", skipped);
        return new NvmlSensor(nvml, gpus, timeProvider) { SkippedNote = reason };
    }

    private string? SkippedNote { get; init; }

    public IReadOnlyList<SensorDescriptor> Describe() =>
        [.. _gpus.Select(g => new SensorDescriptor(Id, Kind, g.Domain, EnergyProvenance.Measured, Note(g)))];

    public IReadOnlyList<EnergyDelta> Sample()
    {
        var now = _timeProvider.GetTimestamp();
        var readings = _gpus.Select(Read).ToArray();
        if (_baseline.Advance(readings, now) is not { } interval)
        {
            return [];
        }

        var (previous, elapsed) = interval;
        var time = _timeProvider.GetUtcNow();

        // A counter that went backwards was reset with the driver: the negative delta is dropped
        // and counted by the sampler's guard instead of being guessed at.
        return [.. _gpus.Select((gpu, i) => new EnergyDelta(gpu.Domain, time, elapsed,
            gpu.UsesCounter ? ((double)readings[i] - previous[i]) / 1e3 : (readings[i] + previous[i]) / 2e3 * elapsed.TotalSeconds,
            EnergyProvenance.Measured))];
    }

    /// <summary>Per GPU domain, the SM utilisation (percent) of each process seen since the last call.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<int, double>> ReadProcessUsage()
    {
        var usage = new Dictionary<string, IReadOnlyDictionary<int, double>>(StringComparer.Ordinal);
        var nowMicroseconds = (ulong)_timeProvider.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        foreach (var gpu in _gpus)
        {
            var byPid = new Dictionary<int, double>();
            foreach (var sample in _nvml.GetProcessUtilization(gpu.Device, gpu.ProcessSamplesSince))
            {
                // Several samples of one process in the window: keep their mean.
                byPid[(int)sample.Pid] = byPid.TryGetValue((int)sample.Pid, out var seen) ? (seen + sample.SmUtil) / 2 : sample.SmUtil;
            }

            gpu.ProcessSamplesSince = nowMicroseconds;
            usage[gpu.Domain] = byPid;
        }

        return usage;
    }

    public void Dispose() => _nvml.Dispose();

    /// <summary>The GPU's counter in mJ, or its power in mW.</summary>
    private ulong Read(NvmlGpu gpu)
    {
        if (gpu.UsesCounter)
        {
            var result = _nvml.GetTotalEnergyConsumption(gpu.Device, out var millijoules);
            return result == NvmlReturn.Success ? millijoules : throw new InvalidOperationException($"{gpu.Domain}: reading the energy counter failed: {_nvml.Describe(result)}");
        }

        var power = _nvml.GetPowerUsage(gpu.Device, out var milliwatts);
        return power == NvmlReturn.Success ? milliwatts : throw new InvalidOperationException($"{gpu.Domain}: reading the power draw failed: {_nvml.Describe(power)}");
    }

    private string Note(NvmlGpu gpu)
    {
        var how = gpu.UsesCounter ? "total-energy counter" : "power draw integrated over each interval (no energy counter)";
        return SkippedNote is null ? $"{gpu.Name}: {how}" : $"{gpu.Name}: {how}; {SkippedNote}";
    }
}

/// <summary>How GPU energy is read: the counter where there is one (Auto), only the counter, or only power integration.</summary>
public enum NvmlMethod
{
    Auto,
    Counter,
    Power,
}

/// <summary>One GPU NVML reads, and what was read from it last.</summary>
public sealed class NvmlGpu(uint index, nint device, string domain, string name, bool usesCounter)
{
    public uint Index { get; } = index;

    public nint Device { get; } = device;

    public string Domain { get; } = domain;

    public string Name { get; } = name;

    /// <summary>True when the total-energy counter is read; false when power is integrated.</summary>
    public bool UsesCounter { get; } = usesCounter;

    internal ulong ProcessSamplesSince { get; set; }
}

/// <summary>A sensor that can say which processes used its GPUs, for attributing their energy.</summary>
public interface IGpuProcessUsage
{
    /// <summary>Per GPU domain, each process's utilisation since the previous call (any consistent unit).</summary>
    IReadOnlyDictionary<string, IReadOnlyDictionary<int, double>> ReadProcessUsage();
}
