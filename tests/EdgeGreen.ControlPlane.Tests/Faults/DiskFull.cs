using System.Diagnostics;

namespace EdgeGreen.ControlPlane.Tests.Faults;

/// <summary>
/// A small tmpfs mounted for one test, so that a real "No space left on device" reaches the
/// control plane. Mounting needs root: elsewhere the test is skipped with the reason, unless
/// <c>CI=true</c> or <c>EDGEGREEN_REQUIRE_SERVICES=1</c> (CI runs as root).
/// </summary>
internal sealed class DiskFull : IDisposable
{
    private readonly string _filler;

    private DiskFull(string path)
    {
        Path = path;
        _filler = System.IO.Path.Combine(path, "filler");
    }

    public string Path { get; }

    public static bool CanMount => Environment.IsPrivilegedProcess && File.Exists("/bin/mount");

    public static DiskFull Mount(string path, int megabytes)
    {
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        return new DiskFull(path);
    }

    /// <summary>Writes a file until the file system has no space left.</summary>
    public void Fill()
    {
        var block = new byte[64 * 1024];
        using var file = new FileStream(_filler, FileMode.Append);
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // Full: that was the point.
        }
    }

    public void Free() => File.Delete(_filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {error}");
        }
    }
}

/// <summary>A test that mounts a file system (root only); skipped elsewhere unless CI requires it.</summary>
public sealed class RequiresRootFactAttribute : FactAttribute
{
    public RequiresRootFactAttribute()
    {
        if (!DiskFull.CanMount && !ExternalProgram.Required)
        {
            Skip = "mounting a small tmpfs needs root (CI runs as root; under CI=true this test is required)";
        }
    }
}
