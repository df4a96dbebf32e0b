using System.Diagnostics;
using System.Globalization;
using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// An instance whose posts were refused (its circuit breaker open) loses its pub/sub connection while another
/// instance goes on posting: the room's subscription must still read the gap from the log and deliver every
/// acknowledged message to every stream of that instance. Reads that repair a gap do not go through the breaker
/// that refused posts opened.
/// </summary>
public sealed class GapRepairTests
{
    [Fact]
    public async Task Streams_of_an_instance_with_an_open_breaker_get_every_message_posted_elsewhere_while_its_pubsub_was_cut()
    {
        await using var redis = new RedisServer { AppendOnly = true };
        await redis.StartAsync();
        // A long break: the breaker that refused posts is still open while the subscription repairs its gap.
        await using var instances = await Instances.StartAsync(2, redis.Configuration, new() { ["Redis__BreakDuration"] = "00:00:30" });
        var (a, b) = (instances[0], instances[1]);
        using var browser = new ChatBrowser();
        var pageA = await browser.GetPageAsync(a.BaseAddress);
        var pageB = await browser.GetPageAsync(b.BaseAddress);
        var streams = new List<(string Instance, SseClient Stream)>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                var app = i % 2 == 0 ? a : b;
                var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
                streams.Add((i % 2 == 0 ? "A" : "B", stream));
                await stream.WaitForAsync(e => e.EventType == "ping", $"stream {i} open");
            }

            // Refused posts open A's breaker: Redis is away while a dozen posts try A.
            await redis.StopAsync();
            var refused = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
            {
                using var response = await browser.PostMessageAsync(a.BaseAddress, pageA, $"refused {i}", cmid: ResumeTests.Cmid());
                return response.StatusCode;
            }));
            Assert.All(refused, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
            await redis.StartAsync();
            await WaitReadyAsync(browser, a);
            await WaitReadyAsync(browser, b);

            // Redis is back, and A still refuses posts at once: its breaker is open.
            var started = Stopwatch.GetTimestamp();
            using (var stillRefused = await browser.PostMessageAsync(a.BaseAddress, pageA, "breaker open", cmid: ResumeTests.Cmid()))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, stillRefused.StatusCode);
            }

            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1), "A's breaker should refuse at once");

            // Every pub/sub connection is cut and kept from coming back (the server takes no new connection) while B
            // posts; then they may reconnect, and B posts on. A's subscription missed the first batch.
            await using var admin = await RedisAdmin.ConnectAsync(redis.Port);
            var connected = (await admin.SendAsync("CLIENT", "LIST")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            var subscribers = await admin.CountClientsAsync("pubsub");
            Assert.True(subscribers >= 2, $"expected both instances' pub/sub connections, found {subscribers}");
            Assert.Equal("+OK", await admin.SendAsync("CONFIG", "SET", "maxclients", (connected - subscribers).ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(subscribers.ToString(CultureInfo.InvariantCulture), await admin.SendAsync("CLIENT", "KILL", "TYPE", "pubsub"));
            var missed = await PostThroughAsync(browser, b, pageB, "missed", 20);
            Assert.Equal(0, await admin.CountClientsAsync("pubsub"));
            Assert.Equal("+OK", await admin.SendAsync("CONFIG", "SET", "maxclients", "10000"));
            await Wait.UntilAsync(async () => await admin.CountClientsAsync("pubsub") >= subscribers, TimeSpan.FromSeconds(15), "the pub/sub connections back");
            var live = await PostThroughAsync(browser, b, pageB, "live", 20);
            var acknowledged = missed.Concat(live).ToArray();
            Assert.True(acknowledged.Length == 40, "B should accept every post; it accepted " + string.Join(", ", acknowledged));

            foreach (var (instance, stream) in streams)
            {
                await stream.WaitUntilAsync(
                    seen => acknowledged.All(text => seen.Any(e => e.Kind == "message" && ChatModes.TextOf(e) == text)),
                    $"every message acknowledged by B on a stream of {instance}",
                    TimeSpan.FromSeconds(20));
                var texts = stream.Messages.Select(ChatModes.TextOf).ToArray();
                Assert.Equal(texts.Length, texts.Distinct().Count());
            }
        }
        finally
        {
            foreach (var (_, stream) in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>Posts <paramref name="count"/> messages through one instance, open loop (one every 10 ms); returns the acknowledged texts.</summary>
    private static async Task<string[]> PostThroughAsync(ChatBrowser browser, AppProcess app, ChatPage page, string label, int count)
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10 * i));
            var text = $"{label} {i}";
            using var response = await browser.PostMessageAsync(app.BaseAddress, page, text, cmid: ResumeTests.Cmid());
            return response.StatusCode == HttpStatusCode.OK ? text : null;
        })).WaitAsync(TimeSpan.FromSeconds(30));
        return [.. outcomes.OfType<string>()];
    }

    private static Task WaitReadyAsync(ChatBrowser browser, AppProcess app) =>
        Wait.UntilAsync(async () =>
        {
            using var response = await browser.Client(app.BaseAddress).GetAsync("/readyz");
            return response.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(15), $"instance {app.Port} ready again");
}
