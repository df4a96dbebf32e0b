using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>GET /events on one instance (in-process bus), read over a real socket with the framework's SSE parser.</summary>
public sealed class EventStreamTests() : ChatAppTests(Settings)
{
    /// <summary>Chat:ReconnectDelay, set apart from its default (2 s) so that the hint is seen to come from it.</summary>
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromMilliseconds(3700);

    private static Dictionary<string, string?> Settings => new()
    {
        ["Chat:HeartbeatInterval"] = "00:00:00.300",
        ["Chat:ReconnectDelay"] = ReconnectDelay.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task The_stream_opens_at_once_with_sse_headers_and_a_retry_hint()
    {
        await using var stream = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress));

        var headers = stream.Response;
        Assert.Equal("text/event-stream", headers.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no", headers.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Contains("no-cache", headers.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Empty(headers.Content.Headers.ContentEncoding);
        var first = await stream.WaitForAsync(_ => true, "the first event");
        Assert.Equal("ping", first.EventType);
        Assert.Equal(ReconnectDelay, first.Retry); // retry: 3700, Chat:ReconnectDelay in ms
        var heartbeat = await stream.WaitForAsync(e => e.EventType == "ping", "a heartbeat");
        Assert.Null(heartbeat.Retry); // the hint goes out once, with the opening event
    }

    [Fact]
    public async Task A_posted_message_arrives_as_an_unnamed_fragment_with_an_id()
    {
        await using var stream = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress));
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, "first line\nsecond <i>line</i>");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var e = await stream.WaitForMessageAsync("first line");
        Assert.Equal("message", e.EventType); // unnamed: htmx 4 swaps it
        Assert.Matches(@"^\d+-\d+$", e.Id);
        var li = (await ChatBrowser.Parse($"<ol>{e.Data}</ol>")).QuerySelector("ol > li")!;
        Assert.Equal("m-" + e.Id, li.Id);
        Assert.Equal("first line\nsecond <i>line</i>", li.QuerySelector(".text")!.TextContent);
        Assert.DoesNotContain("<i>", e.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_client_connecting_and_leaving_is_announced()
    {
        await using var watcher = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress));
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        using var other = new ChatBrowser();
        other.Cookies.Add(App.BaseAddress, new Cookie("ssechat-nick", "visitor-42"));
        var visitor = await SseClient.ConnectAsync(other.Client(App.BaseAddress));
        var joined = await watcher.WaitForAsync(e => e.Kind == "user-joined" && e.Data.Contains("visitor-42", StringComparison.Ordinal), "visitor-42 joined");
        Assert.Null(joined.Id);
        Assert.Equal("message", joined.EventType);

        await visitor.DisposeAsync();

        var left = await watcher.WaitForAsync(e => e.Kind == "user-left" && e.Data.Contains("visitor-42", StringComparison.Ordinal), "visitor-42 left");
        Assert.Null(left.Id);
    }

    [Fact]
    public async Task An_idle_stream_gets_heartbeats()
    {
        await using var stream = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress));

        await stream.WaitForAsync(e => e.EventType == "ping", "the opening ping");
        await stream.WaitForAsync(e => e.EventType == "ping", "a heartbeat ping", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task The_fragment_is_the_same_for_every_stream()
    {
        await using var a = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress));
        using var other = new ChatBrowser();
        await using var b = await SseClient.ConnectAsync(other.Client(App.BaseAddress));
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, "shared fragment");

        var ea = await a.WaitForMessageAsync("shared fragment");
        var eb = await b.WaitForMessageAsync("shared fragment");
        Assert.Equal(ea, eb);
    }
}
