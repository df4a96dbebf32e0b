using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>What a user sees while Redis is away: a clear 503 that keeps their text, and a stream that stays open.</summary>
public sealed class BusOutageAnswersTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();

    public Task InitializeAsync() => _redis.StartAsync();

    public Task DisposeAsync() => _redis.DisposeAsync();

    [Fact]
    public async Task A_redis_that_hangs_opens_the_breaker_so_posts_are_refused_at_once_then_it_recovers()
    {
        // The breaker stays open 5 s (default 1 s), so a busy machine's slower posts still find it open.
        using var app = new ChatAppFactory(new() { ["Redis:Configuration"] = _redis.Configuration, ["Redis:BreakDuration"] = "00:00:05" });
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);

        // Redis stops answering (SIGSTOP): connections stay open, every attempt times out.
        await SignalAsync("STOP");
        try
        {
            var refused = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
            {
                using var response = await browser.PostMessageAsync(app.BaseAddress, page, $"into the void {i}", cmid: ResumeTests.Cmid());
                return response.StatusCode;
            }));
            Assert.All(refused, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));

            // The breaker counted those time-outs: the next post is refused without waiting for Redis.
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            using var atOnce = await browser.PostMessageAsync(app.BaseAddress, page, "refused at once", cmid: ResumeTests.Cmid());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, atOnce.StatusCode);
            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1), "an open breaker answers at once, not after the 2 s bound");
        }
        finally
        {
            await SignalAsync("CONT");
        }

        await Wait.UntilAsync(async () =>
        {
            using var back = await browser.PostMessageAsync(app.BaseAddress, page, "after the hang", cmid: ResumeTests.Cmid());
            return back.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(15), "a post accepted once Redis answers again");
    }

    [Fact]
    public async Task A_page_whose_key_ring_redis_refuses_to_store_gets_a_readable_503_not_a_500()
    {
        // A primary that takes writes only while a replica follows it (as compose and scripts/cluster.sh run it), before
        // its replica has synced: the first page needs the Data Protection key ring's first key, and Redis refuses it.
        await using (var admin = await RedisAdmin.ConnectAsync(_redis.Port))
        {
            await admin.SendAsync("CONFIG", "SET", "min-replicas-to-write", "1");
        }

        using var app = new ChatAppFactory(new() { ["Redis:Configuration"] = _redis.Configuration });
        using var client = app.CreateClient();
        using var refused = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var body = await ChatBrowser.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Contains("cannot reach its message store", body.QuerySelector("[role=alert]")!.TextContent, StringComparison.Ordinal);

        // The replica is there (here: the requirement dropped): the page is served.
        await using (var admin = await RedisAdmin.ConnectAsync(_redis.Port))
        {
            await admin.SendAsync("CONFIG", "SET", "min-replicas-to-write", "0");
        }

        await Wait.UntilAsync(async () =>
        {
            using var page = await client.GetAsync(new Uri("/", UriKind.Relative));
            return page.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(15), "the page once Redis takes the key");
    }

    [Fact]
    public async Task While_redis_is_down_posts_get_a_readable_503_streams_stay_open_and_it_recovers()
    {
        using var app = new ChatAppFactory(new()
        {
            ["Redis:Configuration"] = _redis.Configuration,
            ["Chat:HeartbeatInterval"] = "00:00:00.200",
        });
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        await _redis.StopAsync();

        using (var htmx = await browser.PostMessageAsync(app.BaseAddress, page, "while down"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, htmx.StatusCode);
            Assert.Equal("2", htmx.Headers.RetryAfter?.ToString());
            var fragment = await ChatBrowser.Parse(await htmx.Content.ReadAsStringAsync());
            // "Not confirmed", not "not sent": a message whose answer was lost may have been posted after all.
            Assert.Contains("Not confirmed", fragment.QuerySelector("#form-error[hx-swap-oob]")!.TextContent, StringComparison.Ordinal);
            Assert.Contains("Send again", fragment.QuerySelector("#form-error[hx-swap-oob]")!.TextContent, StringComparison.Ordinal);
            Assert.Null(fragment.QuerySelector("form")); // the form on the page, with the text, stays
        }

        using (var plain = await browser.PostMessageAsync(app.BaseAddress, page, "while down, no js", htmx: false))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, plain.StatusCode);
            var document = await ChatBrowser.Parse(await plain.Content.ReadAsStringAsync());
            Assert.Equal("while down, no js", document.QuerySelector("textarea[name=text]")!.TextContent);
            Assert.Equal(page.ClientMessageId, document.QuerySelector<IHtmlInputElement>("input[name=cmid]")!.Value);
        }

        // The open stream goes on: heartbeats still come.
        await stream.WaitForAsync(e => e.EventType == "ping", "a heartbeat during the outage");
        await stream.WaitForAsync(e => e.EventType == "ping", "another heartbeat during the outage");

        await _redis.StartAsync();
        var resend = ResumeTests.Cmid(); // the user sends the same form again until it goes through
        await Wait.UntilAsync(async () =>
        {
            using var retry = await browser.PostMessageAsync(app.BaseAddress, page, "after the outage", cmid: resend);
            return retry.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "a post to succeed once Redis is back");
        await stream.WaitForMessageAsync("after the outage", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(stream.Messages, e => e.Data.Contains("while down", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_that_cannot_start_while_redis_is_down_gets_a_readable_503_and_gives_its_place_back()
    {
        // One stream per address: a refused stream that kept its permit would turn the next try into "Too many open streams".
        using var app = new ChatAppFactory(new()
        {
            ["Redis:Configuration"] = _redis.Configuration,
            ["Limits:StreamsPerAddress"] = "1",
        });
        using var browser = new ChatBrowser();
        await browser.GetPageAsync(app.BaseAddress);
        await _redis.StopAsync();

        for (var attempt = 0; attempt < 3; attempt++)
        {
            // A room nobody is in yet: this instance must subscribe to it, and cannot.
            using var refused = await browser.Client(app.BaseAddress).GetAsync("/rooms/nobody-here/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("cannot reach its message store", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await _redis.StartAsync();
        await Wait.UntilAsync(async () =>
        {
            using var back = await browser.Client(app.BaseAddress).GetAsync("/rooms/nobody-here/events", HttpCompletionOption.ResponseHeadersRead);
            return back.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "a stream accepted once Redis is back");
    }

    [Fact]
    public async Task An_instance_whose_redis_is_gone_still_shuts_down_cleanly()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?> { ["Redis__Configuration"] = _redis.Configuration });
        using var browser = new ChatBrowser();
        await using (var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress)))
        {
            await stream.WaitForAsync(e => e.Kind == "user-joined", "subscribed and streaming");
        }

        await _redis.StopAsync();
        var exitCode = await app.TerminateAsync(TimeSpan.FromSeconds(15));

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{app.Output}");
        Assert.DoesNotContain("Unhandled exception", app.Output, StringComparison.Ordinal);
    }

    private async Task SignalAsync(string signal)
    {
        var kill = await ExternalTool.RunAsync("kill", [$"-{signal}", _redis.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)], Wait.Default);
        Assert.True(kill.ExitCode == 0, kill.ToString());
    }
}
