using AngleSharp.Dom;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

public sealed class FragmentRendererTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 27, 9, 5, 0, TimeSpan.Zero);

    public static TheoryData<string> HostileTexts => new()
    {
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "'><svg onload=alert(1)>",
        "</li><li data-kind=\"user-joined\">fake</li>",
        "</p></li></ol><script>document.cookie</script>",
        "&lt;already encoded&gt; & ampersands",
        "line one\n<b>line two</b>\tTab",
        "javascript:alert(1)",
        "<!-- comment --> ]]> <![CDATA[x]]>",
    };

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public async Task Hostile_text_is_encoded_and_comes_back_as_the_same_text(string text)
    {
        var html = new FragmentRenderer().Render(Message("mallory", text));

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        var items = document.QuerySelectorAll("ol > li");
        var item = Assert.Single(items);
        Assert.Equal("message", item.GetAttribute("data-kind"));
        Assert.Equal(text, item.QuerySelector(".text")!.TextContent);
        Assert.Empty(document.QuerySelectorAll("script, img, svg, b"));
        Assert.All(document.All, e => Assert.DoesNotContain(e.Attributes, a => a.Name.StartsWith("on", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("\"><script>x</script>")]
    [InlineData("a\" onmouseover=\"alert(1)")]
    public async Task Hostile_nick_is_encoded_in_text_and_attributes(string nick)
    {
        foreach (var kind in new[] { ChatEventKind.Message, ChatEventKind.UserJoined, ChatEventKind.UserLeft })
        {
            var html = new FragmentRenderer().Render(Message(nick, "hi") with { Kind = kind });

            var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
            var item = Assert.Single(document.QuerySelectorAll("ol > li"));
            Assert.Equal(nick, item.GetAttribute("data-nick"));
            Assert.Equal(nick, item.QuerySelector(".nick")!.TextContent);
            Assert.Empty(document.QuerySelectorAll("script"));
            Assert.Null(item.GetAttribute("onmouseover"));
        }
    }

    [Fact]
    public async Task Message_fragment_declares_its_kind_id_nick_and_time()
    {
        var html = new FragmentRenderer().Render(Message("ann", "hello") with { Id = "1764234300000-7" });

        var item = (await ChatBrowser.Parse($"<ol>{html}</ol>")).QuerySelector("ol > li")!;
        Assert.Equal("message", item.GetAttribute("data-kind"));
        Assert.Equal("1764234300000-7", item.GetAttribute("data-id"));
        Assert.Equal("ann", item.QuerySelector(".nick")!.TextContent);
        Assert.Equal("2026-11-27T09:05:00.000Z", item.QuerySelector("time")!.GetAttribute("datetime"));
        Assert.Equal("09:05", item.QuerySelector("time")!.TextContent);
    }

    [Theory]
    [InlineData(ChatEventKind.UserJoined, "user-joined", "joined")]
    [InlineData(ChatEventKind.UserLeft, "user-left", "left")]
    public async Task Presence_fragments_declare_their_kind(ChatEventKind kind, string dataKind, string verb)
    {
        var html = new FragmentRenderer().Render(new ChatEvent(kind, "lobby", "bob", "", At));

        var item = (await ChatBrowser.Parse($"<ol>{html}</ol>")).QuerySelector("ol > li")!;
        Assert.Equal(dataKind, item.GetAttribute("data-kind"));
        Assert.Contains($"bob {verb}", item.TextContent.Trim(), StringComparison.Ordinal);
        Assert.Null(item.GetAttribute("data-id"));
    }

    private static ChatEvent Message(string nick, string text) => new(ChatEventKind.Message, "lobby", nick, text, At);
}
