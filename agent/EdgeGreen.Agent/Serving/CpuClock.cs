using System.Runtime.InteropServices;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// CPU time of the calling thread and of the whole process from <c>clock_gettime</c> (a vDSO
/// read on Linux, cheap enough for every request), in microseconds; 0 where libc has no such
/// clock, so inference never fails for want of a measurement.
/// </summary>
internal static unsafe class CpuClock
{
    private const int ProcessCpuTimeId = 2;
    private const int ThreadCpuTimeId = 3;

    private static readonly delegate* unmanaged<int, TimeSpec*, int> ClockGetTime = Bind();

    public static long ThreadMicroseconds() => Read(ThreadCpuTimeId);

    public static long ProcessMicroseconds() => Read(ProcessCpuTimeId);

    private static long Read(int clock)
    {
        if (ClockGetTime == null)
        {
            return 0;
        }

        TimeSpec value;
        return ClockGetTime(clock, &value) == 0 ? (value.Seconds * 1_000_000) + (value.Nanoseconds / 1_000) : 0;
    }

    private static delegate* unmanaged<int, TimeSpec*, int> Bind()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        foreach (var name in new[] { "libc.so.6", "libc" })
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "clock_gettime", out var export))
            {
                return (delegate* unmanaged<int, TimeSpec*, int>)export;
            }
        }

        return null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
