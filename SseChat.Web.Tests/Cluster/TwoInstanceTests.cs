using System.Net;
using SseChat.Web.Bus;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// Two real SseChat processes sharing one real redis-server, each with its own HOME (so its own default key
/// store): what works here works across hosts behind a round-robin balancer with no sticky sessions.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed class TwoInstanceTests(RedisServer redis) : IAsyncLifetime
{
    private Instances _instances = null!;

    private AppProcess _a => _instances[0];

    private AppProcess _b => _instances[1];

    public async Task InitializeAsync() => _instances = await Instances.StartAsync(2, redis.Configuration);

    public async Task DisposeAsync() => await _instances.DisposeAsync();

    [Fact]
    public async Task A_form_from_A_posts_to_B_and_streams_on_both_receive_the_message()
    {
        using var browser = new ChatBrowser();
        await using var streams = await StreamsOnBothAsync(browser);

        var page = await browser.GetPageAsync(_a.BaseAddress);
        using var response = await browser.PostMessageAsync(_b.BaseAddress, page, "from A's form, posted to B");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await AssertStoredAndStreamedAsync(browser, streams, "from A's form, posted to B", "from A&#x27;s form, posted to B");
    }

    [Fact]
    public async Task A_plain_post_to_the_other_instance_also_validates()
    {
        using var browser = new ChatBrowser();
        await using var streams = await StreamsOnBothAsync(browser);
        var page = await browser.GetPageAsync(_b.BaseAddress);

        using var response = await browser.PostMessageAsync(_a.BaseAddress, page, "plain, across", htmx: false);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString); // back to the lobby, which now shows it
        await AssertStoredAndStreamedAsync(browser, streams, "plain, across", "plain, across");
    }

    [Fact]
    public async Task A_malformed_frame_on_the_rooms_channel_is_skipped_and_the_next_message_reaches_both_instances()
    {
        using var browser = new ChatBrowser();
        await using var streams = await StreamsOnBothAsync(browser);
        await using var admin = await RedisAdmin.ConnectAsync(redis.Port);
        var channel = new RedisKeys(_instances.KeyPrefix).Channel("lobby").ToString();

        // Both instances' room loops read this frame from pub/sub's queue themselves: it must not end either loop.
        Assert.Equal("2", await admin.SendAsync("SPUBLISH", channel, "not a frame"));
        var page = await browser.GetPageAsync(_a.BaseAddress);
        using var response = await browser.PostMessageAsync(_b.BaseAddress, page, "after the bad frame");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await AssertStoredAndStreamedAsync(browser, streams, "after the bad frame", "after the bad frame");
        Assert.DoesNotContain(streams.OnA.Seen.Concat(streams.OnB.Seen), e => e.Data.Contains("not a frame", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Join_and_leave_notices_cross_instances()
    {
        using var watcherBrowser = new ChatBrowser();
        await using var watcher = await SseClient.ConnectAsync(watcherBrowser.Client(_a.BaseAddress));
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        using var visitorBrowser = new ChatBrowser();
        visitorBrowser.Cookies.Add(_b.BaseAddress, new Cookie("ssechat-nick", "visitor-on-B"));
        var visitor = await SseClient.ConnectAsync(visitorBrowser.Client(_b.BaseAddress));

        await watcher.WaitForAsync(e => e.Kind == "user-joined" && e.Data.Contains("visitor-on-B", StringComparison.Ordinal), "visitor-on-B joined, seen on A");
        await visitor.DisposeAsync();
        await watcher.WaitForAsync(e => e.Kind == "user-left" && e.Data.Contains("visitor-on-B", StringComparison.Ordinal), "visitor-on-B left, seen on A");
    }

    [Fact]
    public async Task The_same_client_message_id_posted_to_both_instances_is_one_message()
    {
        using var browser = new ChatBrowser();
        await using var stream = await SseClient.ConnectAsync(browser.Client(_a.BaseAddress));
        await stream.WaitForAsync(e => e.EventType == "ping", "stream open");
        var page = await browser.GetPageAsync(_a.BaseAddress);

        using var first = await browser.PostMessageAsync(_a.BaseAddress, page, "double click");
        using var second = await browser.PostMessageAsync(_b.BaseAddress, page, "double click");
        using var marker = await browser.PostMessageAsync(_b.BaseAddress, page, "after the double click", cmid: ClientId());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await stream.WaitForMessageAsync("after the double click");
        Assert.Single(stream.Seen, e => e.Kind == "message" && e.Data.Contains(">double click<", StringComparison.Ordinal));
    }

    private static string ClientId() => Guid.NewGuid().ToString("N");

    /// <summary>A stream on each instance, both open (their first event seen).</summary>
    private async Task<StreamPair> StreamsOnBothAsync(ChatBrowser browser)
    {
        var onA = await SseClient.ConnectAsync(browser.Client(_a.BaseAddress));
        SseClient? onB = null;
        try
        {
            onB = await SseClient.ConnectAsync(browser.Client(_b.BaseAddress));
            await onA.WaitForAsync(e => e.EventType == "ping", "stream on A open");
            await onB.WaitForAsync(e => e.EventType == "ping", "stream on B open");
            return new StreamPair(onA, onB);
        }
        catch
        {
            await onA.DisposeAsync();
            if (onB is not null)
            {
                await onB.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// The message reached both streams as one message (the same id and fragment), and it is in the room's log: each
    /// instance's page, read from the log, lists it.
    /// </summary>
    private async Task AssertStoredAndStreamedAsync(ChatBrowser browser, StreamPair streams, string text, string encoded)
    {
        var seenOnA = await streams.OnA.WaitForMessageAsync(encoded);
        var seenOnB = await streams.OnB.WaitForMessageAsync(encoded);
        Assert.Matches(@"^\d+-\d+$", seenOnA.Id);
        Assert.Equal(seenOnA.Id, seenOnB.Id);
        Assert.Equal(seenOnA.Data, seenOnB.Data);
        foreach (var instance in new[] { _a, _b })
        {
            var reloaded = await browser.GetPageAsync(instance.BaseAddress);
            Assert.Single(reloaded.Document.QuerySelectorAll("#messages .text"), t => t.TextContent == text);
        }
    }

    private sealed record StreamPair(SseClient OnA, SseClient OnB) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await OnA.DisposeAsync();
            await OnB.DisposeAsync();
        }
    }
}
