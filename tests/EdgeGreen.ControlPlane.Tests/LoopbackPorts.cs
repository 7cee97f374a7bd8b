using System.Net;
using System.Net.Sockets;

namespace EdgeGreen.ControlPlane.Tests;

internal static class LoopbackPorts
{
    /// <summary>A TCP port free on loopback now (the OS's pick, released at once).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
