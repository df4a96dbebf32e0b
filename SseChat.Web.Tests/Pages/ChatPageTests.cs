using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Pages;

/// <summary>The page and its forms, through WebApplicationFactory (on Kestrel) and parsed with AngleSharp.</summary>
public sealed class ChatPageTests : ChatAppTests
{
    [Fact]
    public async Task The_page_has_the_form_the_token_and_the_htmx_sse_wiring()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        Assert.Equal(HttpStatusCode.OK, page.Status);
        var form = page.Document.QuerySelector<IHtmlFormElement>("form#send")!;
        Assert.NotNull(form);
        Assert.Equal("post", form.Method, ignoreCase: true);
        Assert.Equal("/messages", form.GetAttribute("action"));
        Assert.Equal("/messages", form.GetAttribute("hx-post"));
        Assert.NotNull(form.QuerySelector("textarea[name=text]"));
        Assert.NotNull(form.QuerySelector("button[type=submit]"));
        Assert.NotNull(form.QuerySelector("label[for=text]"));
        Assert.False(string.IsNullOrEmpty(page.AntiforgeryToken));
        Assert.Matches("^[0-9a-f]{32}$", page.ClientMessageId);

        var list = page.Document.QuerySelector("#messages")!;
        Assert.Equal("/events?lastEventId=0-0", list.GetAttribute("hx-sse:connect")); // an empty log: from its start
        var history = list.ParentElement!;
        Assert.Equal("/history", history.GetAttribute("hx-get"));
        Assert.Equal("reset from:#messages", history.GetAttribute("hx-trigger"));
        Assert.Equal("#messages", history.GetAttribute("hx-target"));
        Assert.Equal("beforeend", list.GetAttribute("hx-swap"));
        Assert.Equal("polite", list.GetAttribute("aria-live"));

        var scripts = page.Document.QuerySelectorAll<IHtmlScriptElement>("script[src]").Select(s => s.Source!).ToArray();
        Assert.Contains(scripts, s => s.Contains("/lib/htmx.org/dist/htmx.min", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.Contains("/lib/htmx.org/dist/ext/hx-sse.min", StringComparison.Ordinal));
        var http = Browser.Client(App.BaseAddress);
        foreach (var src in scripts.Append(page.Document.QuerySelector<IHtmlLinkElement>("link[rel=stylesheet]")!.Href!))
        {
            using var asset = await http.GetAsync(new Uri(src).PathAndQuery);
            Assert.True(asset.IsSuccessStatusCode, $"{src}: {(int)asset.StatusCode}");
        }
    }

    [Fact]
    public async Task A_first_visit_gets_a_guest_nickname_that_sticks()
    {
        var first = await Browser.GetPageAsync(App.BaseAddress);
        var nick = first.Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value;
        Assert.Matches("^guest-[a-z0-9]{4}$", nick);

        var second = await Browser.GetPageAsync(App.BaseAddress);
        Assert.Equal(nick, second.Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value);
    }

    [Fact]
    public async Task An_htmx_post_answers_a_fresh_form_and_the_message_is_in_the_history()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, "hello <b>world</b>");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var fragment = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        var form = fragment.QuerySelector("form#send")!;
        Assert.Equal("", form.QuerySelector("textarea")!.TextContent);
        var newCmid = form.QuerySelector<IHtmlInputElement>("input[name=cmid]")!.Value;
        Assert.NotEqual(page.ClientMessageId, newCmid);
        Assert.NotNull(form.QuerySelector("input[name=__RequestVerificationToken]"));

        var reloaded = await Browser.GetPageAsync(App.BaseAddress);
        var item = Assert.Single(reloaded.Document.QuerySelectorAll("#messages > li[data-kind=message]"));
        Assert.Equal("hello <b>world</b>", item.QuerySelector(".text")!.TextContent);
        Assert.Empty(reloaded.Document.QuerySelectorAll("#messages b"));
        Assert.Equal(reloaded.Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value, item.QuerySelector(".nick")!.TextContent);
        Assert.Matches(@"^m-\d+-\d+$", item.Id!);
        // The stream resumes after the last message the page shows, so nothing posted in between is missed.
        Assert.Equal($"/events?lastEventId={item.Id![2..]}", reloaded.Document.QuerySelector("#messages")!.GetAttribute("hx-sse:connect"));
    }

    [Fact]
    public async Task A_plain_post_redirects_back_with_303()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, "no javascript here", htmx: false);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        var reloaded = await Browser.GetPageAsync(App.BaseAddress);
        Assert.Contains(reloaded.Document.QuerySelectorAll("#messages .text"), t => t.TextContent == "no javascript here");
    }

    [Fact]
    public async Task History_is_newest_last_and_bounded()
    {
        using var app = new ChatAppFactory(new() { ["Chat:HistorySize"] = "3" });
        var page = await Browser.GetPageAsync(app.BaseAddress);
        for (var i = 1; i <= 5; i++)
        {
            using var r = await Browser.PostMessageAsync(app.BaseAddress, page, $"n{i}", cmid: $"cmid-{i}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        var reloaded = await Browser.GetPageAsync(app.BaseAddress);
        Assert.Equal(["n3", "n4", "n5"], reloaded.Document.QuerySelectorAll("#messages .text").Select(t => t.TextContent));

        using var history = await Browser.Client(app.BaseAddress).GetAsync("/history");
        var body = await history.Content.ReadAsStringAsync();
        var items = await ChatBrowser.Parse($"<ol>{body}</ol>");
        Assert.Equal(["n3", "n4", "n5"], items.QuerySelectorAll("li .text").Select(t => t.TextContent));
        Assert.DoesNotContain("<head", body, StringComparison.OrdinalIgnoreCase); // list items only, no layout
    }

    [Theory]
    [InlineData("", "Type a message")]
    [InlineData("   ", "Type a message")]
    [InlineData("ding\u0007", "control character")]
    public async Task An_invalid_htmx_post_gets_400_with_the_reason_in_the_error_slot(string text, string reason)
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, text);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var fragment = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        var slot = fragment.QuerySelector("#form-error")!;
        Assert.Equal("true", slot.GetAttribute("hx-swap-oob"));
        Assert.Contains(reason, slot.TextContent, StringComparison.Ordinal);
        Assert.Null(fragment.QuerySelector("form")); // the form on the page stays, with the user's text in it
        Assert.Empty((await Browser.GetPageAsync(App.BaseAddress)).Document.QuerySelectorAll("#messages > li"));
    }

    [Fact]
    public async Task A_too_long_plain_post_gets_400_with_the_reason_and_the_text_kept()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        var text = new string('x', 2001);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, text, htmx: false);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var document = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("2,001 characters", document.QuerySelector("#form-error")!.TextContent, StringComparison.Ordinal);
        Assert.Equal(text, document.QuerySelector("textarea[name=text]")!.TextContent);
        Assert.Equal(page.ClientMessageId, document.QuerySelector<IHtmlInputElement>("input[name=cmid]")!.Value);
        // The whole page, in the site's layout, with a form that can be sent again as it is.
        Assert.Equal("Not sent · SseChat", document.Title);
        Assert.NotNull(document.QuerySelector("link[rel=stylesheet][href^='/css/site']"));
        Assert.NotNull(document.QuerySelector("form#send input[name=__RequestVerificationToken]"));
    }

    [Fact]
    public async Task A_valid_token_in_a_header_without_a_form_gets_a_readable_400()
    {
        // The antiforgery check also accepts its token in a header; what comes with it then need not be a form.
        var page = await Browser.GetPageAsync(App.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/messages")
        {
            Content = new StringContent("{\"text\":\"hi\"}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("RequestVerificationToken", page.AntiforgeryToken);
        request.Headers.Add("HX-Request", "true");

        using var response = await Browser.Client(App.BaseAddress).SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var fragment = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(fragment.QuerySelector("#form-error[hx-swap-oob]")?.TextContent));
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_with_a_readable_message()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        using var response = await Browser.PostMessageAsync(App.BaseAddress, page, new string('y', 40_000));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var fragment = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("too large", fragment.QuerySelector("#form-error")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_gets_413_too()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/messages")
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(
                $"__RequestVerificationToken={Uri.EscapeDataString(page.AntiforgeryToken)}&text=" + new string('z', 40_000)))),
        };
        request.Content.Headers.ContentType = new("application/x-www-form-urlencoded");
        request.Headers.TransferEncodingChunked = true;

        using var response = await Browser.Client(App.BaseAddress).SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("too large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=xyz", "text=not multipart at all")]
    [InlineData("multipart/form-data", "--\r\n")]
    [InlineData("application/x-www-form-urlencoded", "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17&r=18&s=19&t=20&u=21&v=22&w=23&x=24&y=25&z=26&aa=27&ab=28&ac=29&ad=30&ae=31&af=32&ag=33")]
    public async Task A_malformed_form_gets_a_readable_400_not_a_500(string contentType, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/messages") { Content = new StringContent(body) };
        request.Content.Headers.Remove("Content-Type");
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await Browser.Client(App.BaseAddress).SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("could not be read", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("forged-token")]
    public async Task A_post_without_a_valid_antiforgery_token_gets_a_readable_400(string? token)
    {
        await Browser.GetPageAsync(App.BaseAddress);
        var fields = new Dictionary<string, string> { ["text"] = "sneaky" };
        if (token is not null)
        {
            fields["__RequestVerificationToken"] = token;
        }

        using var response = await Browser.PostFormAsync(App.BaseAddress, "/messages", htmx: false, fields);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Reload the page", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await Browser.GetPageAsync(App.BaseAddress)).Document.QuerySelectorAll("#messages > li"));
    }

    [Fact]
    public async Task A_chosen_nickname_is_kept_and_signs_messages()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        var token = page.Document.QuerySelector<IHtmlInputElement>("#nick input[name=__RequestVerificationToken]")!.Value;

        using var saved = await Browser.PostFormAsync(App.BaseAddress, "/nick", htmx: true, new() { ["nick"] = "  Zoë Q. ", ["__RequestVerificationToken"] = token });
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var fragment = await ChatBrowser.Parse(await saved.Content.ReadAsStringAsync());
        Assert.Equal("Zoë Q.", fragment.QuerySelector<IHtmlInputElement>("#nick-input")!.Value);

        using var posted = await Browser.PostMessageAsync(App.BaseAddress, page, "signed");
        var reloaded = await Browser.GetPageAsync(App.BaseAddress);
        Assert.Equal("Zoë Q.", reloaded.Document.QuerySelector("#messages .msg .nick")!.TextContent);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("")]
    [InlineData("much-too-long-nickname-of-33-char")]
    public async Task An_invalid_nickname_gets_400_and_is_not_kept(string nick)
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        var before = page.Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value;
        var token = page.Document.QuerySelector<IHtmlInputElement>("#nick input[name=__RequestVerificationToken]")!.Value;

        using var response = await Browser.PostFormAsync(App.BaseAddress, "/nick", htmx: true, new() { ["nick"] = nick, ["__RequestVerificationToken"] = token });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var fragment = await ChatBrowser.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(fragment.QuerySelector("#nick-error")!.TextContent));
        Assert.Empty(fragment.QuerySelectorAll("script"));
        Assert.Equal(before, (await Browser.GetPageAsync(App.BaseAddress)).Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value);
    }

    [Fact]
    public async Task A_tampered_nickname_cookie_is_ignored()
    {
        Browser.Cookies.Add(App.BaseAddress, new Cookie("ssechat-nick", Uri.EscapeDataString("<img src=x onerror=alert(1)>")));

        var page = await Browser.GetPageAsync(App.BaseAddress);

        Assert.Matches("^guest-", page.Document.QuerySelector<IHtmlInputElement>("#nick-input")!.Value);
    }

    [Theory]
    [InlineData("/no-such-page", HttpStatusCode.NotFound)]
    [InlineData("/messages", HttpStatusCode.Redirect)]
    public async Task Other_paths_answer_readably(string path, HttpStatusCode expected)
    {
        using var response = await Browser.Client(App.BaseAddress).GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.NotFound)
        {
            Assert.Contains("Back to the chat", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }
}
