using AngleSharp.Dom;
using SseChat.Web.Chat;
using SseChat.Web.Presence;
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

    [Fact]
    public async Task A_message_carries_its_authors_public_tag()
    {
        var html = new FragmentRenderer().Render(Message("ann", "mine") with { Author = "0123456789abcdef" });

        var item = (await ChatBrowser.Parse($"<ol>{html}</ol>")).QuerySelector("ol > li")!;
        Assert.Equal("0123456789abcdef", item.GetAttribute("data-author"));
    }

    [Theory]
    [InlineData(ChatEventKind.UserJoined, "user-joined")]
    [InlineData(ChatEventKind.UserLeft, "user-left")]
    public async Task A_notice_with_presence_appends_one_item_and_carries_the_list_out_of_band(ChatEventKind kind, string dataKind)
    {
        var people = new PresenceSnapshot(7, [new PresentPerson("zed", "bbbb"), new PresentPerson("<b>ann</b>", "aaaa")]);
        var html = new FragmentRenderer().Render(new ChatEvent(kind, "lobby", "zed", "", At, Author: "bbbb", Presence: people));

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        // The root element still says what the fragment is (the contract curl readers and k6 scripts rely on).
        Assert.StartsWith($"<li class=\"notice {dataKind}\" data-kind=\"{dataKind}\"", html, StringComparison.Ordinal);
        Assert.Equal("bbbb", document.QuerySelector("li.notice")!.GetAttribute("data-author"));
        var list = document.QuerySelector("#presence")!;
        Assert.Equal("true", list.GetAttribute("hx-swap-oob"));
        Assert.Equal("presence", list.GetAttribute("data-kind"));
        Assert.Equal("2", list.QuerySelector(".count")!.TextContent);
        Assert.Equal(["<b>ann</b>", "zed"], list.QuerySelectorAll("li .nick").Select(n => n.TextContent)); // by name, encoded
        Assert.Equal(["aaaa", "bbbb"], list.QuerySelectorAll("li").Select(li => li.GetAttribute("data-author")));
        Assert.Empty(document.QuerySelectorAll("b"));
    }

    [Fact]
    public async Task A_change_of_names_is_the_list_alone_and_adds_nothing_to_the_conversation()
    {
        var html = new FragmentRenderer().Render(new ChatEvent(ChatEventKind.PresenceChanged, "lobby", "ann", "", At,
            Presence: new PresenceSnapshot(3, [new PresentPerson("ann", "aaaa")])));

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        Assert.StartsWith("<section id=\"presence\"", html, StringComparison.Ordinal);
        Assert.Empty(document.QuerySelectorAll("ol > li"));
        Assert.Equal(["ann"], document.QuerySelectorAll("#presence li .nick").Select(n => n.TextContent));
    }

    [Fact]
    public async Task The_page_list_of_people_is_not_out_of_band_and_an_empty_room_lists_nobody()
    {
        var html = new FragmentRenderer().RenderPresence(PresenceSnapshot.Empty, outOfBand: false);

        var list = (await ChatBrowser.Parse(html)).QuerySelector("#presence")!;
        Assert.Null(list.GetAttribute("hx-swap-oob"));
        Assert.Equal("0", list.QuerySelector(".count")!.TextContent);
        Assert.Empty(list.QuerySelectorAll("li"));
    }

    private static ChatEvent Message(string nick, string text) => new(ChatEventKind.Message, "lobby", nick, text, At);
}
