using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EdgeGreen.ControlPlane.Tests.Feed;

/// <summary>A Mosquitto broker of the test's own on a loopback port, anonymous and without persistence.</summary>
internal sealed class Mosquitto : IAsyncDisposable
{
    private readonly Process _process;

    private Mosquitto(Process process) => _process = process;

    public static async Task<Mosquitto> StartAsync(TempDirectory temp, int port, TimeSpan patience)
    {
        var config = Path.Combine(temp.Path, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n");
        var process = Process.Start(new ProcessStartInfo(ExternalProgram.Require("mosquitto"), ["-c", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var mosquitto = new Mosquitto(process);
        await Eventually.WaitUntilAsync(() => Accepts(port) || process.HasExited, patience, "mosquitto listens");
        if (process.HasExited)
        {
            Assert.Fail($"mosquitto exited: {await process.StandardError.ReadToEndAsync()}");
        }

        return mosquitto;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var probe = new TcpClient();
            probe.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
