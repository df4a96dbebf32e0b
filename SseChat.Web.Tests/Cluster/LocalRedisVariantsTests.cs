using System.Globalization;
using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// <c>scripts/cluster.sh up 3 --redis-cluster</c> and <c>up 3 --sentinel</c>, for real on free ports: the Redis
/// processes they promise, instances that acknowledge a post once a replica has it, a message through the balancer to
/// streams on every instance, and a <c>down</c> that stops exactly what <c>up</c> started.
/// </summary>
public sealed class LocalRedisVariantsTests
{
    [Fact]
    public async Task Up_with_a_redis_cluster_runs_six_nodes_in_one_ok_cluster_and_down_stops_them_all()
    {
        await using var cluster = await LocalCluster.UpAsync(3, "--redis-cluster");
        var nodes = cluster.Recorded.Where(p => p.Name.StartsWith("redis", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["redis1", "redis2", "redis3", "redis4", "redis5", "redis6", "chat1", "chat2", "chat3", "nginx"], cluster.Recorded.Select(p => p.Name));
        await using (var admin = await RedisAdmin.ConnectAsync(nodes[0].Port))
        {
            var info = await admin.SendAsync("CLUSTER", "INFO");
            Assert.Contains("cluster_state:ok", info, StringComparison.Ordinal);
            Assert.Contains("cluster_size:3", info, StringComparison.Ordinal); // 3 primaries with slots
            Assert.Contains("cluster_known_nodes:6", info, StringComparison.Ordinal);
            Assert.Equal("cluster-node-timeout\n2000", await admin.SendAsync("CONFIG", "GET", "cluster-node-timeout"));
        }

        await ChatsThroughTheBalancerAsync(cluster);
        await DownStopsEverythingAsync(cluster);
    }

    [Fact]
    public async Task Up_with_sentinel_runs_a_primary_a_replica_and_three_sentinels_and_down_stops_them_all()
    {
        await using var cluster = await LocalCluster.UpAsync(3, "--sentinel");
        Assert.Equal(["redis1", "redis2", "sentinel1", "sentinel2", "sentinel3", "chat1", "chat2", "chat3", "nginx"], cluster.Recorded.Select(p => p.Name));
        var primary = cluster.Recorded[0];
        await using (var admin = await RedisAdmin.ConnectAsync(cluster.Recorded[2].Port))
        {
            var address = await admin.SendAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "ssechat");
            Assert.Equal($"127.0.0.1\n{primary.Port.ToString(CultureInfo.InvariantCulture)}", address);
        }

        await ChatsThroughTheBalancerAsync(cluster);
        await DownStopsEverythingAsync(cluster);
    }

    /// <summary>A post through the balancer is acknowledged (a replica confirmed it) and reaches a stream on each instance.</summary>
    private static async Task ChatsThroughTheBalancerAsync(LocalCluster cluster)
    {
        using var browser = new ChatBrowser();
        var lb = cluster.BalancerAddress;
        var streams = new List<SseClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var stream = await SseClient.ConnectAsync(browser.Client(lb));
                streams.Add(stream);
                await stream.WaitForAsync(e => e.EventType == "ping", "stream open");
            }

            Assert.Equal(3, streams.Select(s => s.Response.Instance()).Distinct().Count());
            var page = await browser.GetPageAsync(lb);
            using var post = await browser.PostMessageAsync(lb, page, "on a replicated Redis");
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
            var ids = new List<string?>();
            foreach (var stream in streams)
            {
                ids.Add((await stream.WaitForMessageAsync("on a replicated Redis")).Id);
            }

            Assert.Single(ids.Distinct());
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    private static async Task DownStopsEverythingAsync(LocalCluster cluster)
    {
        var started = cluster.Recorded;
        var down = await cluster.DownAsync();

        Assert.True(down.ExitCode == 0, $"down: {down}");
        Assert.Empty(started.Where(p => p.IsRunning).Select(p => $"{p.Name} (pid {p.Pid})"));
        Assert.False(File.Exists(cluster.PidsFile));
    }
}
