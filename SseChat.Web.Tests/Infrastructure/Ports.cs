using System.Net;
using System.Net.Sockets;

namespace SseChat.Web.Tests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port that was free a moment ago (the OS picks it).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
