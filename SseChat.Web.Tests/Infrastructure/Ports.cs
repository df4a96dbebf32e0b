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

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports that were free a moment ago, for tools that
    /// take a base port. Below Linux's ephemeral range, where the OS hands out no ports by itself.
    /// </summary>
    public static int FreeLoopbackPortRange(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(20_000, 32_000 - count);
            if (Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free loopback ports found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
