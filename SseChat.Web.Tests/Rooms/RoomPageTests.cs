using System.Net;
using System.Net.Sockets;
using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Rooms;

/// <summary>Rooms through WebApplicationFactory (on Kestrel), read with AngleSharp and the SSE client.</summary>
public sealed class RoomPageTests() : ChatAppTests(new() { ["Chat:PresenceLeaveGrace"] = "00:00:00" })
{
    [Fact]
    public async Task A_room_page_wires_its_own_stream_form_and_history()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress, "/rooms/design-review");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("design-review", page.Document.QuerySelector(".chat")!.GetAttribute("data-room"));
        Assert.Contains("#design-review", page.Document.Title, StringComparison.Ordinal);
        var form = page.Document.QuerySelector<IHtmlFormElement>("form#send")!;
        Assert.Equal("/rooms/design-review/messages", form.GetAttribute("action"));
        Assert.Equal("/rooms/design-review/messages", form.GetAttribute("hx-post"));
        Assert.False(string.IsNullOrEmpty(page.AntiforgeryToken));
        Assert.Contains("#design-review", form.QuerySelector("label[for=text]")!.TextContent, StringComparison.Ordinal);
        var list = page.Document.QuerySelector("#messages")!;
        Assert.Equal("/rooms/design-review/events?lastEventId=0-0", list.GetAttribute("hx-sse:connect"));
        Assert.Equal("/rooms/design-review/history", list.ParentElement!.GetAttribute("hx-get"));
        Assert.Equal("design-review", page.Document.QuerySelector<IHtmlInputElement>("#nick input[name=room]")!.Value);
        Assert.Matches("^[0-9a-f]{16}$", page.Document.QuerySelector(".chat")!.GetAttribute("data-me")!);
    }

    [Fact]
    public async Task Messages_stay_in_their_room_in_history_and_on_streams()
    {
        var inA = await Browser.GetPageAsync(App.BaseAddress, "/rooms/room-a");
        var lobby = await Browser.GetPageAsync(App.BaseAddress);
        await using var streamA = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress), "/rooms/room-a/events");
        await using var streamB = await SseClient.ConnectAsync(Browser.Client(App.BaseAddress), "/rooms/room-b/events");
        await streamA.WaitForAsync(e => e.EventType == "ping", "room-a stream open");
        await streamB.WaitForAsync(e => e.EventType == "ping", "room-b stream open");

        using (var posted = await Browser.PostMessageAsync(App.BaseAddress, inA, "only for room a"))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            var fresh = await ChatBrowser.Parse(await posted.Content.ReadAsStringAsync());
            Assert.Equal("/rooms/room-a/messages", fresh.QuerySelector("form#send")!.GetAttribute("hx-post")); // the fresh form stays in the room
        }

        using (var posted = await Browser.PostMessageAsync(App.BaseAddress, lobby, "only for the lobby", cmid: Cmid()))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        var seen = await streamA.WaitForMessageAsync("only for room a");
        Assert.Matches(@"^\d+-\d+$", seen.Id);
        var roomB = await Browser.GetPageAsync(App.BaseAddress, "/rooms/room-b");
        using (var marker = await Browser.PostMessageAsync(App.BaseAddress, roomB, "marker in room b"))
        {
            Assert.Equal(HttpStatusCode.OK, marker.StatusCode);
        }

        await streamB.WaitForMessageAsync("marker in room b");
        Assert.Equal(["marker in room b"], streamB.Messages.Select(Delivery.ChatModes.TextOf));
        Assert.DoesNotContain(streamA.Messages, m => m.Data.Contains("lobby", StringComparison.Ordinal) || m.Data.Contains("marker", StringComparison.Ordinal));

        Assert.Equal(["only for room a"], await TextsAsync("/rooms/room-a"));
        Assert.Equal(["only for the lobby"], await TextsAsync("/"));
        Assert.Equal(["marker in room b"], await TextsAsync("/rooms/room-b"));
        using var history = await Browser.Client(App.BaseAddress).GetAsync("/rooms/room-a/history");
        var items = await ChatBrowser.Parse($"<ol>{await history.Content.ReadAsStringAsync()}</ol>");
        Assert.Equal(["only for room a"], items.QuerySelectorAll("li .text").Select(t => t.TextContent));
    }

    [Fact]
    public async Task A_plain_post_in_a_room_returns_to_the_room_and_a_get_of_its_form_path_too()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress, "/rooms/kitchen");

        using var posted = await Browser.PostMessageAsync(App.BaseAddress, page, "no javascript", htmx: false);
        using var got = await Browser.Client(App.BaseAddress).GetAsync("/rooms/kitchen/messages");

        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        Assert.Equal("/rooms/kitchen", posted.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, got.StatusCode);
        Assert.Equal("/rooms/kitchen", got.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("Lobby")]
    [InlineData("UPPER")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789-abcd")] // 41 characters
    [InlineData("caf%C3%A9")]
    [InlineData("%D0%B0bc")] // a Cyrillic "а"
    [InlineData("a_b")]
    [InlineData("a.b")]
    [InlineData("a%20b")]
    [InlineData("a%2Fb")]
    public async Task An_invalid_room_name_gets_404_with_the_naming_rule_on_every_path(string name)
    {
        var http = Browser.Client(App.BaseAddress);
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var pageAnswer = await http.GetAsync($"/rooms/{name}");
        using var history = await http.GetAsync($"/rooms/{name}/history");
        using var events = await http.GetAsync($"/rooms/{name}/events");
        using var htmxPost = await Browser.PostFormAsync(App.BaseAddress, $"/rooms/{name}/messages", htmx: true, new()
        {
            ["text"] = "lost?",
            ["cmid"] = Cmid(),
            ["__RequestVerificationToken"] = page.AntiforgeryToken,
        });

        foreach (var answer in new[] { pageAnswer, history })
        {
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            var document = await ChatBrowser.Parse(await answer.Content.ReadAsStringAsync());
            Assert.Equal(Validation.RoomRule, document.QuerySelector("[role=alert]")!.TextContent);
            Assert.NotNull(document.QuerySelector("a[href='/']"));
        }

        Assert.Equal(HttpStatusCode.NotFound, events.StatusCode);
        Assert.Equal("text/plain", events.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Validation.RoomRule, await events.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, htmxPost.StatusCode);
        var fragment = await ChatBrowser.Parse(await htmxPost.Content.ReadAsStringAsync());
        Assert.Equal(Validation.RoomRule, fragment.QuerySelector("#form-error[hx-swap-oob]")!.TextContent);
        Assert.Empty(await TextsAsync("/")); // nothing went anywhere
    }

    /// <summary>
    /// Raw request lines, as a hostile client sends them (HttpClient would normalise the path first; HTTP/1.0, so the
    /// body comes unchunked). Whatever Kestrel
    /// or the app makes of them, the answer is never a 500, and a page that is served is the page of a valid room.
    /// </summary>
    [Theory]
    [InlineData("/rooms/..")]
    [InlineData("/rooms/../events")]
    [InlineData("/rooms/%2e%2e")]
    [InlineData("/rooms/%2E%2E/history")]
    [InlineData("/rooms/..%2f..%2fetc%2fpasswd")]
    [InlineData("/rooms/%2e%2e%2f%2e%2e/events")]
    [InlineData("/rooms/a/../../events")]
    [InlineData("/rooms/%00")]
    [InlineData("/rooms/a%00b/events")]
    [InlineData("/rooms/LOBBY")]
    [InlineData("/rooms/%C3%A9t%C3%A9")]
    [InlineData("/rooms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("/rooms/%E2%80%AEevil")]
    [InlineData("/rooms/a%0d%0aSet-Cookie:%20x=1")]
    public async Task Path_tricks_never_get_a_500_nor_a_room_of_a_strange_name(string path)
    {
        var (status, headers, body) = await RawGetAsync(path);

        Assert.True(status is 200 or 302 or 400 or 404, $"{path}: {status}\n{body}");
        Assert.DoesNotContain("Set-Cookie: x=1", headers, StringComparison.OrdinalIgnoreCase);
        if (status == 200 && body.Contains("data-room=", StringComparison.Ordinal))
        {
            var room = (await ChatBrowser.Parse(body)).QuerySelector(".chat")!.GetAttribute("data-room");
            Assert.True(Validation.TryValidateRoom(room, out _, out _), $"{path} served a page for room '{room}'");
        }

        if (status == 404 && headers.Contains("text/html", StringComparison.Ordinal))
        {
            Assert.Contains("Back to the chat", body, StringComparison.Ordinal); // readable, never a stack trace
        }
    }

    [Theory]
    [InlineData("kitchen", "/rooms/kitchen")]
    [InlineData("  kitchen ", "/rooms/kitchen")]
    [InlineData("lobby", "/")]
    public async Task The_go_to_a_room_form_redirects_to_the_room(string name, string location)
    {
        using var response = await Browser.Client(App.BaseAddress).GetAsync($"/rooms?name={Uri.EscapeDataString(name)}");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("Kitchen")]
    [InlineData("../etc")]
    [InlineData("")]
    public async Task The_go_to_a_room_form_refuses_an_invalid_name_with_the_rule(string name)
    {
        using var response = await Browser.Client(App.BaseAddress).GetAsync($"/rooms?name={Uri.EscapeDataString(name)}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var document = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Validation.RoomRule, document.QuerySelector("[role=alert]")!.TextContent);
    }

    [Fact]
    public async Task The_room_list_shows_rooms_with_people_in_them_from_presence()
    {
        var http = Browser.Client(App.BaseAddress);
        Assert.Equal(["lobby"], await ListedRoomsAsync("/rooms"));

        var stream = await SseClient.ConnectAsync(http, "/rooms/busy-room/events");
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        var page = await Browser.GetPageAsync(App.BaseAddress, "/rooms");
        var busy = page.Document.QuerySelectorAll("#room-list li").Single(li => li.QuerySelector("a")!.TextContent == "#busy-room");
        Assert.Equal("/rooms/busy-room", busy.QuerySelector("a")!.GetAttribute("href"));
        Assert.Equal("1", busy.QuerySelector(".count")!.TextContent);

        // What a room page's list refreshes itself with: the items alone, its own room marked.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/rooms?current=busy-room");
        request.Headers.Add("HX-Request", "true");
        using var refreshed = await http.SendAsync(request);
        var body = await refreshed.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<html", body, StringComparison.OrdinalIgnoreCase);
        var items = await ChatBrowser.Parse($"<ul>{body}</ul>");
        Assert.Equal("page", items.QuerySelector("a[href='/rooms/busy-room']")!.GetAttribute("aria-current"));

        await stream.DisposeAsync();
        await Wait.UntilAsync(async () => !(await ListedRoomsAsync("/rooms")).Contains("busy-room"),
            Wait.Default, "the room to leave the list once its last person left");
    }

    [Fact]
    public async Task A_room_page_lists_who_is_here()
    {
        using var other = new ChatBrowser();
        other.Cookies.Add(App.BaseAddress, new Cookie(Nickname.CookieName, "watcher"));
        await using var watcher = await SseClient.ConnectAsync(other.Client(App.BaseAddress), "/rooms/lounge/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        var page = await Browser.GetPageAsync(App.BaseAddress, "/rooms/lounge");

        var presence = page.Document.QuerySelector("#presence")!;
        Assert.Equal(["watcher"], presence.QuerySelectorAll("li .nick").Select(n => n.TextContent));
        Assert.Equal("1", presence.QuerySelector(".count")!.TextContent);
        Assert.Null(presence.GetAttribute("hx-swap-oob"));
        Assert.Empty((await Browser.GetPageAsync(App.BaseAddress, "/rooms/elsewhere")).Document.QuerySelectorAll("#presence li"));
    }

    /// <summary>
    /// The pages carry no inline script, no inline event handler and no inline style, so a Content-Security-Policy of
    /// script-src 'self' and style-src 'self' can hold. (The browser tests run the page under such a policy.)
    /// </summary>
    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/rooms/csp")]
    [InlineData("GET", "/rooms")]
    [InlineData("GET", "/rooms/NOT-VALID")]
    [InlineData("GET", "/rooms?name=NOT-VALID")]
    [InlineData("POST", "/messages")]
    [InlineData("POST", "/nick")]
    public async Task Pages_have_no_inline_script_or_style(string method, string path)
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        string html;
        if (method == "POST")
        {
            // A plain post that fails renders a page (the form again, with the error).
            using var posted = await Browser.PostFormAsync(App.BaseAddress, path, htmx: false, new()
            {
                ["text"] = "",
                ["nick"] = "<bad>",
                ["cmid"] = Cmid(),
                ["__RequestVerificationToken"] = page.AntiforgeryToken,
            });
            Assert.Equal(HttpStatusCode.BadRequest, posted.StatusCode);
            html = await posted.Content.ReadAsStringAsync();
        }
        else
        {
            using var got = await Browser.Client(App.BaseAddress).GetAsync(path);
            html = await got.Content.ReadAsStringAsync();
        }

        var document = await ChatBrowser.Parse(html);
        Assert.NotNull(document.QuerySelector("link[rel=stylesheet][href^='/css/']"));
        Assert.Empty(document.QuerySelectorAll("style"));
        Assert.All(document.QuerySelectorAll("script"), s => Assert.False(string.IsNullOrEmpty(s.GetAttribute("src")), "an inline script"));
        Assert.All(document.All, e =>
        {
            Assert.Null(e.GetAttribute("style"));
            Assert.DoesNotContain(e.Attributes, a => a.Name.StartsWith("on", StringComparison.Ordinal) || a.Name.StartsWith("hx-on", StringComparison.Ordinal));
            Assert.DoesNotContain("javascript:", e.GetAttribute("href") ?? "", StringComparison.OrdinalIgnoreCase);
        });
    }

    private async Task<string[]> TextsAsync(string path) =>
        (await Browser.GetPageAsync(App.BaseAddress, path)).Document.QuerySelectorAll("#messages .text").Select(t => t.TextContent).ToArray();

    private async Task<string[]> ListedRoomsAsync(string path) =>
        (await Browser.GetPageAsync(App.BaseAddress, path)).Document.QuerySelectorAll("#room-list li a")
            .Select(a => a.TextContent.TrimStart('#')).ToArray();

    private async Task<(int Status, string Headers, string Body)> RawGetAsync(string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", App.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
        using var cts = new CancellationTokenSource(Wait.Default);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        string raw;
        int split;
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cts.Token);
            received.Write(buffer, 0, read);
            raw = Encoding.UTF8.GetString(received.ToArray());
            split = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            // An event stream (the lobby's, reached by a path that resolves to /events) never ends: its headers say enough.
            if (read == 0 || (split >= 0 && raw[..split].Contains("text/event-stream", StringComparison.Ordinal)))
            {
                break;
            }
        }

        var head = split < 0 ? raw : raw[..split];
        var status = int.Parse(head.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, head, split < 0 ? "" : raw[(split + 4)..]);
    }

    private static string Cmid() => Guid.NewGuid().ToString("N");
}
