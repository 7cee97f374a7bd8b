using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeGreen.Agent.Tests.Sensors;

/// <summary>
/// The fake NVML library (tests/fixtures/nvml/fake_nvml.c) built once with the machine's gcc, so
/// that the agent's real P/Invoke path runs. tests/run.sh installs gcc where it is missing.
/// </summary>
public sealed class FakeNvml : IDisposable
{
    private delegate void SetRoot([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-fakenvml-").FullName;
    private readonly SetRoot _setRoot;

    public FakeNvml()
    {
        LibraryPath = Path.Combine(_directory, "libfakenvml.so");
        var source = Path.Combine(AppContext.BaseDirectory, "fixtures", "nvml", "fake_nvml.c");
        var gcc = Process.Start(new ProcessStartInfo("gcc", ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", LibraryPath, source])
        {
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("gcc did not start; tests/run.sh installs it.");
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the fake NVML library failed: {errors}");
        }

        _setRoot = Marshal.GetDelegateForFunctionPointer<SetRoot>(NativeLibrary.GetExport(NativeLibrary.Load(LibraryPath), "fake_nvml_set_root"));
    }

    public string LibraryPath { get; }

    /// <summary>Points the library at a state tree (see fake_nvml.c for its files).</summary>
    public void UseState(SysfsTree state) => _setRoot(state.Root);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The loaded library stays mapped until the process ends; its directory may go later.
        }
    }
}
