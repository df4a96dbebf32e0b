using System.Net.ServerSentEvents;
using System.Text;
using SseChat.Web.Streaming;

namespace SseChat.Web.Tests.Unit;

public sealed class SseFramesTests
{
    [Fact]
    public async Task Multi_line_fragment_becomes_one_unnamed_event_with_a_data_line_per_line_and_an_id()
    {
        var html = "<li data-kind=\"message\">\n<span>a</span>\n<p>b</p>\n</li>";

        var frame = Encoding.UTF8.GetString(await SseFrames.FragmentAsync(html, "1700000000000-3"));

        Assert.Equal(
            "data: <li data-kind=\"message\">\ndata: <span>a</span>\ndata: <p>b</p>\ndata: </li>\nid: 1700000000000-3\n\n",
            frame);
        Assert.DoesNotContain("event:", frame, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frame_parses_back_to_the_same_fragment_and_id()
    {
        var html = "<li>\r\none\ntwo\n</li>";
        var bytes = await SseFrames.FragmentAsync(html, "5-0");

        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(new MemoryStream(bytes)).EnumerateAsync())
        {
            items.Add(item);
        }

        var parsed = Assert.Single(items);
        Assert.Equal("message", parsed.EventType); // the parser's name for an unnamed event
        Assert.Equal("<li>\none\ntwo\n</li>", parsed.Data);
        Assert.Equal("5-0", parsed.EventId);
    }

    [Fact]
    public async Task A_fragment_without_id_has_no_id_line()
    {
        var frame = Encoding.UTF8.GetString(await SseFrames.FragmentAsync("<li>joined</li>", null));

        Assert.Equal("data: <li>joined</li>\n\n", frame);
    }

    [Fact]
    public async Task Control_event_is_named_and_carries_the_retry_hint()
    {
        var frame = Encoding.UTF8.GetString(await SseFrames.ControlAsync("ping", "", TimeSpan.FromSeconds(2)));

        Assert.Contains("event: ping\n", frame, StringComparison.Ordinal);
        Assert.Contains("retry: 2000\n", frame, StringComparison.Ordinal);
        Assert.EndsWith("\n\n", frame, StringComparison.Ordinal);
    }
}
