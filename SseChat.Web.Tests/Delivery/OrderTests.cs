using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>Many publishers on two instances at once: every stream gets every message once, all in the same order.</summary>
[Collection(RedisServerGroup.Name)]
public sealed class OrderTests(RedisServer redis)
{
    private const int Publishers = 4;
    private const int PerPublisher = 500;

    [Fact]
    public async Task Concurrent_publishers_on_two_instances_reach_every_stream_once_in_one_order()
    {
        await using var instances = await Instances.StartAsync(2, redis.Configuration);
        using var browser = new ChatBrowser();
        var streams = new List<SseClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var stream = await SseClient.ConnectAsync(browser.Client(instances[i % 2].BaseAddress));
                streams.Add(stream);
                await stream.WaitForAsync(e => e.EventType == "ping", $"stream {i} open");
            }

            var page = await browser.GetPageAsync(instances[0].BaseAddress);
            var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
            {
                var target = instances[p % 2].BaseAddress;
                for (var i = 0; i < PerPublisher; i++)
                {
                    using var response = await browser.PostMessageAsync(target, page, $"p{p}-{i}", cmid: ResumeTests.Cmid());
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Assert.Fail($"p{p}-{i} to instance {p % 2} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                }
            })).ToArray();
            await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(120));

            foreach (var stream in streams)
            {
                await stream.WaitUntilAsync(seen => seen.Count(e => e.Kind == "message") >= Publishers * PerPublisher,
                    "all messages", TimeSpan.FromSeconds(60));
            }

            var reference = streams[0].Messages.Select(e => (e.Id, Text: ChatModes.TextOf(e))).ToArray();
            Assert.Equal(Publishers * PerPublisher, reference.Length);
            Assert.Equal(reference.Length, reference.Select(m => m.Text).Distinct().Count()); // once each
            Assert.Equal(reference.Length, reference.Select(m => m.Id).Distinct().Count());
            for (var p = 0; p < Publishers; p++)
            {
                // Each publisher posted one after another: its messages keep that order.
                var own = reference.Where(m => m.Text.StartsWith($"p{p}-", StringComparison.Ordinal)).Select(m => m.Text);
                Assert.Equal(Enumerable.Range(0, PerPublisher).Select(i => $"p{p}-{i}"), own);
            }

            foreach (var stream in streams.Skip(1))
            {
                Assert.Equal(reference, stream.Messages.Select(e => (e.Id, Text: ChatModes.TextOf(e))).ToArray());
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
