using System.Net;
using System.Net.Sockets;

namespace SseChat.Web.Tests.Infrastructure;

internal static class Ports
{
    /// <summary>
    /// A loopback port that was free a moment ago, below Linux's ephemeral range (32768–60999), where the OS hands out no
    /// ports by itself: one the OS picked could go to another process's outgoing connection before our server binds it
    /// (CI saw an instance fail to start so). Between the cluster nodes' ports and their bus ports.
    /// </summary>
    public static int FreeLoopbackPort() => FirstFree(22_000, 30_000, 1, IsFree, "a free loopback port between 22000 and 30000");

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports that were free a moment ago, for tools that
    /// take a base port. Below Linux's ephemeral range, where the OS hands out no ports by itself.
    /// </summary>
    public static int FreeLoopbackPortRange(int count) =>
        FirstFree(20_000, 32_000, count, IsFree, $"{count} consecutive free loopback ports");

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports that were free a moment ago, each with the port
    /// 10000 above it free too: a Redis Cluster node listens there for its cluster bus. Below the ephemeral range.
    /// </summary>
    public static int FreeClusterPortRange(int count) =>
        FirstFree(20_000, 22_000, count, p => IsFree(p) && IsFree(p + 10_000),
            $"{count} consecutive free loopback ports (with their cluster bus ports)");

    /// <summary>The first of <paramref name="count"/> consecutive ports in [low, high), picked at random, that all pass <paramref name="free"/>.</summary>
    private static int FirstFree(int low, int high, int count, Func<int, bool> free, string what)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(low, high - count + 1);
            if (Enumerable.Range(first, count).All(free))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No {what} found.");
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
