using System.Net;
using System.Net.Sockets;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// The real local cluster of scripts/cluster.sh, on free ports: Redis, three published instances and nginx doing
/// plain round robin. One test, because starting it is the expensive part: it goes up, serves, and goes down.
/// </summary>
public sealed class LoadBalancedClusterTests
{
    [Fact]
    public async Task Round_robin_through_nginx_serves_one_room_and_down_stops_every_process_up_started()
    {
        await using var cluster = await LocalCluster.UpAsync(3);
        var started = cluster.Recorded;
        Assert.Equal(["redis", "chat1", "chat2", "chat3", "nginx"], started.Select(p => p.Name));
        Assert.All(started, p => Assert.True(p.IsRunning, $"{p.Name} (pid {p.Pid}) is not running"));
        var status = await cluster.StatusAsync();
        Assert.True(status.ExitCode == 0, $"status: {status}");

        // Redis keeps an append-only file, fsynced once a second (the durability the README states).
        await using (var admin = await RedisAdmin.ConnectAsync(started[0].Port))
        {
            Assert.Equal("appendonly\nyes", await admin.SendAsync("CONFIG", "GET", "appendonly"));
            Assert.Equal("appendfsync\neverysec", await admin.SendAsync("CONFIG", "GET", "appendfsync"));
        }

        using var browser = new ChatBrowser();
        var lb = cluster.BalancerAddress;

        // No sticky sessions: the page and the post that follows it are served by different instances, and the
        // form one instance rendered (its antiforgery token) is accepted by another.
        var page = await browser.GetPageAsync(lb);
        using var post = await browser.PostMessageAsync(lb, page, "posted through the balancer");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.StartsWith("chat", page.Instance, StringComparison.Ordinal);
        Assert.NotEqual(page.Instance, post.Instance());

        // Three streams opened one after the other land on the three instances; each gets every message.
        var streams = new List<SseClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                streams.Add(await SseClient.ConnectAsync(browser.Client(lb)));
            }

            Assert.Equal(3, streams.Select(s => s.Response.Instance()).Distinct().Count());
            foreach (var stream in streams)
            {
                await stream.WaitForAsync(e => e.EventType == "ping", "stream open");
            }

            var next = await browser.GetPageAsync(lb);
            using var fanned = await browser.PostMessageAsync(lb, next, "to every stream, on every instance");
            Assert.Equal(HttpStatusCode.OK, fanned.StatusCode);
            var received = new List<SseEvent>();
            foreach (var stream in streams)
            {
                received.Add(await stream.WaitForMessageAsync("to every stream, on every instance"));
            }

            Assert.Single(received.Select(e => e.Id).Distinct());
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }

        var down = await cluster.DownAsync();

        Assert.True(down.ExitCode == 0, $"down: {down}");
        Assert.Empty(started.Where(p => p.IsRunning).Select(p => $"{p.Name} (pid {p.Pid})"));
        Assert.False(File.Exists(cluster.PidsFile));
        using var probe = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, lb.Port));
    }
}
