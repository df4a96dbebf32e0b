using System.Globalization;
using System.Net;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Delivery;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// Three real SseChat processes on a real Redis Cluster of 3 shards: rooms land on different shards, each room's
/// channel is a shard channel carried only by its own shard, and messages, presence, the room list, antiforgery (the
/// key ring) and resume all work across instances as on one redis-server.
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisClusterChatTests(RedisCluster cluster) : IAsyncLifetime
{
    /// <summary>On the test cluster's even split of the slots, one room per shard.</summary>
    private static readonly string[] Rooms = ["west", "shard-a", "loud"];

    private Instances _instances = null!;

    // No catch-up on a timer within a test: what arrives came by pub/sub (or a repair it set off).
    public async Task InitializeAsync() => _instances = await Instances.StartAsync(3, cluster.Configuration, new() { ["Chat__HeartbeatInterval"] = "00:05:00" });

    public async Task DisposeAsync() => await _instances.DisposeAsync();

    [Fact]
    public async Task Rooms_on_three_shards_carry_messages_and_presence_across_instances_each_on_its_own_shard_channel()
    {
        var keys = new RedisKeys(_instances.KeyPrefix);
        var primaries = await Task.WhenAll(Rooms.Select(r => cluster.PrimaryOfAsync(keys.Log(r).ToString())));
        Assert.Equal(Rooms.Length, primaries.Select(p => p.Port).Distinct().Count());

        var (a, b, c) = (_instances[0], _instances[1], _instances[2]);
        var browsers = new List<ChatBrowser>();
        var streams = new List<SseClient>();
        try
        {
            foreach (var room in Rooms)
            {
                var path = new RoomPaths(room);
                var watcherBrowser = Browser(browsers, "watcher");
                await watcherBrowser.GetPageAsync(a.BaseAddress, path.Page); // its browser id: one person on A and C
                var onA = await Open(streams, watcherBrowser, a, path.Events);
                var onC = await Open(streams, watcherBrowser, c, path.Events);
                await onA.WaitForAsync(e => e.Kind is "user-joined" or "presence", $"watcher in {room} on A");

                // Someone comes in through B: A sees it.
                var visitorBrowser = Browser(browsers, "visitor");
                await Open(streams, visitorBrowser, b, path.Events);
                await onA.WaitForAsync(e => e.Kind is "user-joined" or "presence-summary" && e.Data.Contains(">visitor<", StringComparison.Ordinal),
                    $"the visitor's arrival in {room}, on A");

                // A form from A's page, posted to B (the antiforgery token checks out there: one key ring, in the cluster).
                var page = await visitorBrowser.GetPageAsync(a.BaseAddress, path.Page);
                using var response = await visitorBrowser.PostMessageAsync(b.BaseAddress, page, $"hello {room}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var seenOnA = await onA.WaitForMessageAsync($"hello {room}");
                var seenOnC = await onC.WaitForMessageAsync($"hello {room}");
                Assert.Equal(seenOnA.Id, seenOnC.Id);
            }

            // Each room's channel is subscribed on its own shard only, once per instance, as a shard channel.
            for (var i = 0; i < Rooms.Length; i++)
            {
                var channel = (string)keys.Channel(Rooms[i])!;
                foreach (var node in cluster.Nodes.Where(n => n.IsRunning))
                {
                    var expected = node == primaries[i] ? 3 : 0;
                    Assert.Equal(expected, SubscriberCount(await node.CommandAsync($"PUBSUB SHARDNUMSUB {channel}")));
                    Assert.Equal(0, SubscriberCount(await node.CommandAsync($"PUBSUB NUMSUB {channel}")));
                }
            }

            // The room list, from the rooms index on its own shard, names every room.
            using var reader = new ChatBrowser();
            var list = await reader.GetPageAsync(c.BaseAddress, "/rooms");
            var listed = list.Document.QuerySelectorAll("#room-list li a").Select(l => l.TextContent.TrimStart('#')).ToArray();
            Assert.All(Rooms, room => Assert.Contains(room, listed));
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }

            browsers.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public async Task A_stream_resumes_on_another_instance_with_exactly_what_it_missed()
    {
        var room = Rooms[2];
        var path = new RoomPaths(room);
        var (a, b, c) = (_instances[0], _instances[1], _instances[2]);
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(b.BaseAddress, path.Page);
        string lastId;
        await using (var first = await SseClient.ConnectAsync(browser.Client(a.BaseAddress), path.Events))
        {
            await Post(browser, b, page, "before the break");
            lastId = (await first.WaitForMessageAsync("before the break")).Id!;
        }

        await Post(browser, b, page, "missed one");
        await Post(browser, b, page, "missed two");

        await using var resumed = await SseClient.ConnectAsync(browser.Client(c.BaseAddress), path.Events,
            request => request.Headers.Add("Last-Event-ID", lastId));
        await resumed.WaitForMessageAsync("missed two");
        Assert.Equal(["missed one", "missed two"], resumed.Messages.Select(ChatModes.TextOf));
    }

    private static async Task Post(ChatBrowser browser, AppProcess instance, ChatPage page, string text)
    {
        using var response = await browser.PostMessageAsync(instance.BaseAddress, page, text, cmid: Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static ChatBrowser Browser(List<ChatBrowser> browsers, string nick)
    {
        var browser = new ChatBrowser();
        browsers.Add(browser);
        browser.Cookies.Add(new Uri("http://127.0.0.1/"), new Cookie(Nickname.CookieName, nick)); // cookies ignore ports: every instance
        return browser;
    }

    private static async Task<SseClient> Open(List<SseClient> streams, ChatBrowser browser, AppProcess instance, string path)
    {
        var stream = await SseClient.ConnectAsync(browser.Client(instance.BaseAddress), path);
        streams.Add(stream);
        await stream.WaitForAsync(e => e.EventType == "ping", $"a stream on {instance.Name} open");
        return stream;
    }

    /// <summary>The count of a raw RESP reply to PUBSUB NUMSUB / SHARDNUMSUB of one channel: the last integer.</summary>
    private static int SubscriberCount(string reply) =>
        int.Parse(reply.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[^1].TrimStart(':'), CultureInfo.InvariantCulture);
}
