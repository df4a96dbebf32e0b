using System.Net.ServerSentEvents;
using System.Text;
using SseChat.Web.Bus;
using SseChat.Web.Streaming;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// Frames are encoded by hand, synchronously, once per event; these tests hold them to the bytes the framework's
/// SseFormatter writes for the same event, and read them back with its SseParser.
/// </summary>
public sealed class SseFramesTests
{
    public static TheoryData<string?, string, string?, int?> Events => new()
    {
        { null, "<li data-kind=\"message\">\n<span>a</span>\n<p>b</p>\n</li>", "1700000000000-3", null },
        { null, "<li>\r\none\rtwo\n</li>", "5-0", null },
        { null, "<li>joined</li>", null, null },
        { null, "", null, null },
        { null, "ends with a newline\n", null, null },
        { "ping", "", null, 2000 },
        { "reset", "history", null, null },
        { "reconnect", "", null, 250 },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public async Task A_frame_is_what_the_framework_formatter_writes(string? eventType, string data, string? id, int? retryMs)
    {
        var retry = retryMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
        var expected = await FormatterBytesAsync(new SseItem<string>(data, eventType) { EventId = id, ReconnectionInterval = retry });

        var frame = SseFrames.Encode(eventType, data, id is null ? null : LogId.ParseOrDefault(id), retry);

        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(frame));
    }

    [Fact]
    public async Task A_frame_parses_back_to_the_same_fragment_and_id()
    {
        var bytes = SseFrames.Encode(null, "<li>\r\none\ntwo\n</li>", new LogId(5, 0), retry: null);

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
    public void Chat_content_is_unnamed_and_a_multi_line_fragment_has_a_data_line_per_line()
    {
        var frame = Encoding.UTF8.GetString(SseFrames.Encode(null, "<li>\n<p>b</p>\n</li>", new LogId(1700000000000, 3), retry: null));

        Assert.Equal("data: <li>\ndata: <p>b</p>\ndata: </li>\nid: 1700000000000-3\n\n", frame);
    }

    private static async Task<byte[]> FormatterBytesAsync(SseItem<string> item)
    {
        using var buffer = new MemoryStream();
        await SseFormatter.WriteAsync(One(item), buffer);
        return buffer.ToArray();
    }

#pragma warning disable CS1998 // a one-item async sequence, which SseFormatter takes
    private static async IAsyncEnumerable<SseItem<string>> One(SseItem<string> item)
#pragma warning restore CS1998
    {
        yield return item;
    }
}
