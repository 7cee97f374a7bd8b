using System.Runtime.InteropServices;

namespace EdgeGreen.Agent.Sensors.Nvml;

/// <summary>
/// The few NVML entry points the agent needs, bound at run time from the library named in
/// configuration (<c>libnvidia-ml.so.1</c> by default), so that a machine without the driver
/// simply has no GPU sensor and tests can bind a fake library built from C source.
/// </summary>
/// <remarks>Signatures follow the NVML API reference (nvml.h); every call returns an <see cref="NvmlReturn"/>.</remarks>
public sealed unsafe class NvmlLibrary : IDisposable
{
    private readonly delegate* unmanaged<NvmlReturn> _shutdown;
    private readonly delegate* unmanaged<uint*, NvmlReturn> _getCount;
    private readonly delegate* unmanaged<uint, nint*, NvmlReturn> _getHandle;
    private readonly delegate* unmanaged<nint, byte*, uint, NvmlReturn> _getName;
    private readonly delegate* unmanaged<nint, ulong*, NvmlReturn> _getTotalEnergy;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _getPower;
    private readonly delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn> _getProcessUtilization;
    private readonly delegate* unmanaged<NvmlReturn, byte*> _errorString;
    private int _disposed;

    private NvmlLibrary(nint handle)
    {
        _shutdown = (delegate* unmanaged<NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlShutdown");
        _getCount = (delegate* unmanaged<uint*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetCount_v2");
        _getHandle = (delegate* unmanaged<uint, nint*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetHandleByIndex_v2");
        _getName = (delegate* unmanaged<nint, byte*, uint, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetName");
        _getTotalEnergy = (delegate* unmanaged<nint, ulong*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetTotalEnergyConsumption");
        _getPower = (delegate* unmanaged<nint, uint*, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetPowerUsage");
        _getProcessUtilization = (delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlDeviceGetProcessUtilization");
        _errorString = (delegate* unmanaged<NvmlReturn, byte*>)NativeLibrary.GetExport(handle, "nvmlErrorString");
    }

    /// <summary>
    /// Loads and initialises NVML. Returns null with the reason when the library is absent (no
    /// NVIDIA driver: the normal case on most machines), lacks an entry point, or fails to start.
    /// </summary>
    public static NvmlLibrary? TryOpen(string libraryName, out string? reason)
    {
        if (!NativeLibrary.TryLoad(libraryName, out var handle))
        {
            reason = $"{libraryName} is not installed (no NVIDIA driver)";
            return null;
        }

        NvmlLibrary library;
        try
        {
            library = new NvmlLibrary(handle);
        }
        catch (EntryPointNotFoundException ex)
        {
            reason = $"{libraryName} lacks an NVML entry point the agent needs: {ex.Message}";
            return null;
        }

        var init = (delegate* unmanaged<NvmlReturn>)NativeLibrary.GetExport(handle, "nvmlInit_v2");
        var result = init();
        if (result != NvmlReturn.Success)
        {
            reason = $"nvmlInit failed: {library.Describe(result)}";
            return null;
        }

        reason = null;
        return library;
    }

    public NvmlReturn GetDeviceCount(out uint count)
    {
        fixed (uint* p = &count)
        {
            return _getCount(p);
        }
    }

    public NvmlReturn GetHandle(uint index, out nint device)
    {
        fixed (nint* p = &device)
        {
            return _getHandle(index, p);
        }
    }

    public string GetName(nint device)
    {
        var buffer = stackalloc byte[96];
        return _getName(device, buffer, 96) == NvmlReturn.Success ? Marshal.PtrToStringUTF8((nint)buffer) ?? "" : "";
    }

    /// <summary>Energy used since the driver was last loaded, in millijoules (Volta and newer).</summary>
    public NvmlReturn GetTotalEnergyConsumption(nint device, out ulong millijoules)
    {
        fixed (ulong* p = &millijoules)
        {
            return _getTotalEnergy(device, p);
        }
    }

    /// <summary>Board power draw in milliwatts.</summary>
    public NvmlReturn GetPowerUsage(nint device, out uint milliwatts)
    {
        fixed (uint* p = &milliwatts)
        {
            return _getPower(device, p);
        }
    }

    /// <summary>
    /// Per-process SM utilisation (percent) in the samples newer than <paramref name="sinceMicroseconds"/>
    /// (a CPU timestamp in µs); empty when no process used the GPU since then or the GPU cannot tell.
    /// </summary>
    public IReadOnlyList<NvmlProcessUtilizationSample> GetProcessUtilization(nint device, ulong sinceMicroseconds)
    {
        uint count = 0;
        var result = _getProcessUtilization(device, null, &count, sinceMicroseconds);
        if (result is not (NvmlReturn.InsufficientSize or NvmlReturn.Success) || count == 0)
        {
            return [];
        }

        var samples = new NvmlProcessUtilizationSample[count];
        fixed (NvmlProcessUtilizationSample* p = samples)
        {
            result = _getProcessUtilization(device, p, &count, sinceMicroseconds);
        }

        return result == NvmlReturn.Success ? samples[..(int)Math.Min(count, (uint)samples.Length)] : [];
    }

    /// <summary>NVML's own words for a return code, with the code.</summary>
    public string Describe(NvmlReturn result) =>
        $"{Marshal.PtrToStringUTF8((nint)_errorString(result)) ?? "unknown error"} ({(int)result})";

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _ = _shutdown();
        }
    }
}

/// <summary>nvmlReturn_t values the agent tells apart.</summary>
public enum NvmlReturn
{
    Success = 0,
    Uninitialized = 1,
    InvalidArgument = 2,
    NotSupported = 3,
    NoPermission = 4,
    NotFound = 6,
    InsufficientSize = 7,
    GpuIsLost = 15,
    Unknown = 999,
}

/// <summary>nvmlProcessUtilizationSample_t.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlProcessUtilizationSample
{
    public uint Pid;
    public ulong TimeStamp;
    public uint SmUtil;
    public uint MemUtil;
    public uint EncUtil;
    public uint DecUtil;
}
