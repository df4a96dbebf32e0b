using System.Globalization;
using AngleSharp.Dom;
using SseChat.Web.Bus;
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
    public void A_message_is_one_line_so_it_travels_as_one_data_line(string text)
    {
        var html = new FragmentRenderer().Render(Message("mallory", text));
        var frame = System.Text.Encoding.UTF8.GetString(SseChat.Web.Streaming.SseFrames.Encode(null, html, new LogId(1700000000000, 3), retry: null));

        Assert.DoesNotContain('\n', html);
        Assert.DoesNotContain('\r', html);
        Assert.Equal($"data: {html}\nid: 1700000000000-3\n\n", frame);
    }

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
            // A notice names its one person in an attribute too; a message only in its .nick (the stream's bytes are
            // every client's, once per message).
            Assert.Equal(kind == ChatEventKind.Message ? null : nick, item.GetAttribute("data-nick"));
            Assert.Equal(nick, item.QuerySelector(".nick")!.TextContent);
            Assert.Empty(document.QuerySelectorAll("script"));
            Assert.Null(item.GetAttribute("onmouseover"));
        }
    }

    [Fact]
    public async Task Message_fragment_declares_its_kind_id_nick_and_time()
    {
        var html = new FragmentRenderer().Render(Message("ann", "hello") with { Id = new LogId(1764234300000, 7) });

        var item = (await ChatBrowser.Parse($"<ol>{html}</ol>")).QuerySelector("ol > li")!;
        Assert.Equal("message", item.GetAttribute("data-kind"));
        Assert.Equal("m-1764234300000-7", item.Id);
        Assert.Null(item.GetAttribute("data-id")); // the id once in the fragment (and once in the event's id: line)
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
        Assert.Null(item.GetAttribute("id"));
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
    public async Task One_change_is_the_classic_notice_with_the_list_out_of_band(ChatEventKind kind, string dataKind)
    {
        var zed = new PresentPerson("zed", "bbbb");
        var people = new PresenceSnapshot(7, 2, [new PresentPerson("<b>ann</b>", "aaaa"), zed]);
        var html = new FragmentRenderer().RenderPresenceUpdate(
            kind == ChatEventKind.UserJoined ? [zed] : [], kind == ChatEventKind.UserLeft ? [zed] : [], At, people);

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        // The root element still says what the fragment is (the contract curl readers, k6 scripts and the page rely on).
        Assert.StartsWith($"<li class=\"notice {dataKind}\" data-kind=\"{dataKind}\"", html, StringComparison.Ordinal);
        var notice = document.QuerySelector("li.notice")!;
        Assert.Equal(("bbbb", "zed"), (notice.GetAttribute("data-author"), notice.GetAttribute("data-nick")));
        Assert.Equal(html[..html.IndexOf("<section", StringComparison.Ordinal)], new FragmentRenderer().Render(new ChatEvent(kind, "lobby", "zed", "", At, Author: "bbbb")));
        var list = document.QuerySelector("#presence")!;
        Assert.Equal("true", list.GetAttribute("hx-swap-oob"));
        Assert.Equal("presence", list.GetAttribute("data-kind"));
        Assert.Equal("2", list.QuerySelector(".count")!.TextContent);
        Assert.Equal(["<b>ann</b>", "zed"], list.QuerySelectorAll("li .nick").Select(n => n.TextContent)); // as given, encoded
        Assert.Equal(["aaaa", "bbbb"], list.QuerySelectorAll("li").Select(li => li.GetAttribute("data-author")));
        Assert.Null(list.QuerySelector(".more"));
        Assert.Empty(document.QuerySelectorAll("b"));
    }

    [Fact]
    public async Task A_change_of_names_is_the_list_alone_and_adds_nothing_to_the_conversation()
    {
        var html = new FragmentRenderer().RenderPresenceUpdate([], [], At, new PresenceSnapshot(3, 1, [new PresentPerson("ann", "aaaa")]));

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        Assert.StartsWith("<section id=\"presence\"", html, StringComparison.Ordinal);
        Assert.Empty(document.QuerySelectorAll("ol > li"));
        Assert.Equal(["ann"], document.QuerySelectorAll("#presence li .nick").Select(n => n.TextContent));
        Assert.Equal("", new FragmentRenderer().RenderPresenceUpdate([], [], At, list: null)); // nothing to say
    }

    [Theory]
    [InlineData(2, 0, "a0 and a1 joined")]
    [InlineData(3, 0, "a0, a1 and a2 joined")]
    [InlineData(4, 0, "a0, a1, a2 and 1 other joined")]
    [InlineData(100, 1, "a0, a1, a2 and 97 others joined · b0 left")]
    [InlineData(0, 2, "b0 and b1 left")]
    [InlineData(1, 1, "a0 joined · b0 left")]
    [InlineData(2500, 1200, "a0, a1, a2 and 2,497 others joined · b0, b1, b2 and 1,197 others left")]
    public async Task Several_changes_are_one_summary_line_naming_the_first_few(int joinedCount, int leftCount, string text)
    {
        var joined = Enumerable.Range(0, joinedCount).Select(i => new PresentPerson($"a{i}", $"tag-a{i}")).ToArray();
        var left = Enumerable.Range(0, leftCount).Select(i => new PresentPerson($"b{i}", $"tag-b{i}")).ToArray();

        var html = new FragmentRenderer().RenderPresenceUpdate(joined, left, At, list: null);

        var item = (await ChatBrowser.Parse($"<ol>{html}</ol>")).QuerySelector("ol > li")!;
        Assert.StartsWith("<li class=\"notice presence-summary\" data-kind=\"presence-summary\"", html, StringComparison.Ordinal);
        Assert.Equal($"{text} 09:05", item.TextContent);
        Assert.Equal((joinedCount.ToString(CultureInfo.InvariantCulture), leftCount.ToString(CultureInfo.InvariantCulture)),
            (item.GetAttribute("data-joined"), item.GetAttribute("data-left")));
        Assert.Null(item.GetAttribute("data-nick")); // no one person: readers of single notices are not misled
        Assert.Equal(Math.Min(joinedCount, 3) + Math.Min(leftCount, 3), item.QuerySelectorAll(".nick").Length);
    }

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public async Task Names_in_a_summary_line_are_encoded(string text)
    {
        var nick = text.Length > 32 ? text[..32] : text;
        var html = new FragmentRenderer().RenderPresenceUpdate([new PresentPerson(nick, "aaaa"), new PresentPerson("bob", "bbbb")], [], At, list: null);

        var document = await ChatBrowser.Parse($"<ol>{html}</ol>");
        var item = Assert.Single(document.QuerySelectorAll("ol > *"));
        Assert.Equal([nick, "bob"], item.QuerySelectorAll(".nick").Select(n => n.TextContent));
        Assert.Empty(document.QuerySelectorAll("script, img, svg, b"));
    }

    [Fact]
    public async Task A_capped_list_shows_the_true_count_and_how_many_more()
    {
        var first = Enumerable.Range(0, 100).Select(i => new PresentPerson($"p{i:000}", $"t{i}")).ToArray();

        var html = new FragmentRenderer().RenderPresence(new PresenceSnapshot(9, 10_250, first), outOfBand: false);

        var list = (await ChatBrowser.Parse(html)).QuerySelector("#presence")!;
        Assert.Equal("10250", list.QuerySelector(".count")!.TextContent);
        Assert.Equal(100, list.QuerySelectorAll("li").Length);
        Assert.Equal("and 10,150 more", list.QuerySelector("p.more")!.TextContent);
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
