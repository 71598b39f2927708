using System.Net;
using System.Net.Sockets;

namespace Isomorph.Tests.Support;

public static class Ports
{
    /// <summary>A loopback TCP port nobody listens on now (bound to port 0 and released).</summary>
    public static int Free()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
