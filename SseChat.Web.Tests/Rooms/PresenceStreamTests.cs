using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Rooms;

/// <summary>Presence as a stream shows it, on one instance (in-process bus and store).</summary>
public sealed class PresenceStreamTests : IDisposable
{
    private readonly ChatAppFactory _app = new(new() { ["Chat:PresenceLeaveGrace"] = "00:00:00" });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Two_tabs_of_one_browser_join_once_and_leave_after_the_last_with_the_list_on_every_notice()
    {
        using var watcherBrowser = Browser("watcher");
        await using var watcher = await SseClient.ConnectAsync(watcherBrowser.Client(_app.BaseAddress), "/rooms/tabs/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        using var ann = Browser("ann");
        await ann.GetPageAsync(_app.BaseAddress, "/rooms/tabs"); // the page gives the browser its id, as in real life
        var tab1 = await SseClient.ConnectAsync(ann.Client(_app.BaseAddress), "/rooms/tabs/events");
        var joined = await watcher.WaitForAsync(e => e.Kind == "user-joined" && Nick(e) == "ann", "ann joined");
        Assert.Equal(["ann", "watcher"], await PeopleAsync(joined));
        var own = await tab1.WaitForAsync(e => e.Kind == "user-joined" && Nick(e) == "ann", "ann's own join notice, with the list");
        Assert.Equal(["ann", "watcher"], await PeopleAsync(own));
        Assert.DoesNotContain(tab1.Seen, e => e.Kind == "user-joined" && Nick(e) == "watcher"); // joined before ann's stream

        // The second tab: the list at once, as a fragment of kind "presence", and no second "joined" for anyone.
        var tab2 = await SseClient.ConnectAsync(ann.Client(_app.BaseAddress), "/rooms/tabs/events");
        var list = await tab2.WaitForAsync(e => e.Kind is not null, "the first fragment of the second tab");
        Assert.Equal("presence", list.Kind);
        Assert.Null(list.Id);
        Assert.Equal(["ann", "watcher"], await PeopleAsync(list));
        await PostMarkerAsync("/rooms/tabs", "after the second tab");
        await watcher.WaitForMessageAsync("after the second tab");
        Assert.Single(watcher.Seen, e => e.Kind == "user-joined" && Nick(e) == "ann");

        await tab1.DisposeAsync();
        await tab2.DisposeAsync();
        var left = await watcher.WaitForAsync(e => e.Kind == "user-left" && Nick(e) == "ann", "ann left after closing both tabs");
        Assert.Equal(["watcher"], await PeopleAsync(left));
        Assert.Single(watcher.Seen, e => e.Kind == "user-left");
    }

    [Fact]
    public async Task A_new_name_shows_in_the_rooms_list_of_people_at_once()
    {
        using var watcherBrowser = Browser("watcher");
        await using var watcher = await SseClient.ConnectAsync(watcherBrowser.Client(_app.BaseAddress), "/rooms/names/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");
        using var ann = Browser("ann");
        var page = await ann.GetPageAsync(_app.BaseAddress, "/rooms/names");
        await using var stream = await SseClient.ConnectAsync(ann.Client(_app.BaseAddress), "/rooms/names/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined" && Nick(e) == "ann", "ann joined");

        var token = page.Document.QuerySelector<IHtmlInputElement>("#nick input[name=__RequestVerificationToken]")!.Value;
        using var renamed = await ann.PostFormAsync(_app.BaseAddress, "/nick", htmx: true,
            new() { ["nick"] = "Ann Z.", ["room"] = "names", ["__RequestVerificationToken"] = token });

        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var change = await watcher.WaitForAsync(e => e.Kind == "presence", "the changed list");
        Assert.Equal(["Ann Z.", "watcher"], await PeopleAsync(change));
        Assert.DoesNotContain(watcher.Seen, e => e.Kind == "user-joined" && Nick(e) == "Ann Z.");
    }

    [Fact]
    public async Task Presence_in_one_room_is_not_announced_in_another()
    {
        using var inLobby = Browser("in-lobby");
        using var inOther = Browser("elsewhere");
        await using var lobby = await SseClient.ConnectAsync(inLobby.Client(_app.BaseAddress));
        await lobby.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        await using var elsewhere = await SseClient.ConnectAsync(inOther.Client(_app.BaseAddress), "/rooms/other/events");
        await elsewhere.WaitForAsync(e => e.Kind == "user-joined", "own join notice in the other room");
        await PostMarkerAsync("/", "lobby marker");
        await lobby.WaitForMessageAsync("lobby marker");

        Assert.DoesNotContain(lobby.Seen, e => e.Data.Contains("elsewhere", StringComparison.Ordinal));
    }

    private ChatBrowser Browser(string nick)
    {
        var browser = new ChatBrowser();
        browser.Cookies.Add(_app.BaseAddress, new Cookie(Nickname.CookieName, nick));
        return browser;
    }

    private async Task PostMarkerAsync(string pagePath, string text)
    {
        using var poster = new ChatBrowser();
        var page = await poster.GetPageAsync(_app.BaseAddress, pagePath);
        using var response = await poster.PostMessageAsync(_app.BaseAddress, page, text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The data-nick of a notice's root element (the first attribute of that name in the fragment).</summary>
    private static string? Nick(SseEvent e)
    {
        var match = System.Text.RegularExpressions.Regex.Match(e.Data, "data-nick=\"([^\"]*)\"");
        return e.Kind is "user-joined" or "user-left" && match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    internal static async Task<string[]> PeopleAsync(SseEvent e) =>
        (await ChatBrowser.Parse($"<ol>{e.Data}</ol>")).QuerySelectorAll("#presence li .nick").Select(n => n.TextContent).ToArray();
}
