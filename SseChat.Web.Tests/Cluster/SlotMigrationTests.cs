using System.Collections.Concurrent;
using System.Net;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Delivery;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// A busy room's slot moves to another shard while messages flow (posts from two instances, streams on all three):
/// its keys go over in small batches (so that for a while the room's keys are split between two shards and its scripts
/// are answered TRYAGAIN), its shard channel is subscribed again on the new owner, every post is acknowledged, and
/// every message reaches every stream exactly once.
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class SlotMigrationTests(RedisCluster cluster)
{
    private const string Room = "migrating";

    [Fact]
    public async Task A_room_whose_slot_migrates_under_load_loses_nothing_and_repeats_nothing()
    {
        await using var instances = await Instances.StartAsync(3, cluster.Configuration);
        var keys = new RedisKeys(instances.KeyPrefix);
        var path = new RoomPaths(Room);
        var from = await cluster.PrimaryOfAsync(keys.Log(Room).ToString());
        var other = (await RedisCluster.NodesAsync(from)).First(n => n.Primary && n.Slots > 0 && !n.Failed && n.Port != from.Port);
        var to = cluster.Nodes.Single(n => n.Port == other.Port);

        using var browser = new ChatBrowser();
        var streams = new List<SseClient>();
        var acknowledged = new ConcurrentBag<string>();
        var refusals = new ConcurrentBag<HttpStatusCode>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var stream = await SseClient.ConnectAsync(browser.Client(instances[i].BaseAddress), path.Events);
                streams.Add(stream);
                await stream.WaitForAsync(e => e.EventType == "ping", $"a stream on instance {i + 1}");
            }

            var pages = new[] { await browser.GetPageAsync(instances[0].BaseAddress, path.Page), await browser.GetPageAsync(instances[1].BaseAddress, path.Page) };
            using var stop = new CancellationTokenSource();
            var publishers = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var text = $"p{p} m{n}";
                    using var response = await browser.PostMessageAsync(instances[p].BaseAddress, pages[p], text, cmid: Guid.NewGuid().ToString("N"));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add(text);
                    }
                    else
                    {
                        refusals.Add(response.StatusCode);
                    }

                    await Task.Delay(20); // about 40 posts a second from the two
                }
            })).ToArray();

            await Wait.UntilAsync(() => Task.FromResult(acknowledged.Count >= 40), Wait.Default, "the room to be busy");
            var moved = await cluster.MigrateSlotAsync(keys.Log(Room).ToString(), to, batch: 5);
            var afterMove = acknowledged.Count;
            await Wait.UntilAsync(() => Task.FromResult(acknowledged.Count >= afterMove + 40), Wait.Default, "posts on the new shard");
            await stop.CancelAsync();
            await Task.WhenAll(publishers);

            Assert.Equal(to.Port, (await cluster.PrimaryOfAsync(keys.Log(Room).ToString())).Port);
            Assert.True(moved >= 2, $"only {moved} keys moved"); // the log and the sequence at least
            Assert.Empty(refusals); // TRYAGAIN while the keys are split is retried within the post's bound
            var expected = acknowledged.Order(StringComparer.Ordinal).ToArray();
            foreach (var stream in streams)
            {
                await stream.WaitUntilAsync(seen => expected.All(t => seen.Any(e => e.Kind == "message" && ChatModes.TextOf(e) == t)),
                    $"every one of {expected.Length} acknowledged messages on every stream");
                var texts = stream.Messages.Select(ChatModes.TextOf).ToArray();
                Assert.Equal(texts.Length, texts.Distinct().Count()); // none twice
            }
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }
}
