using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Playwright;
using SseChat.Web.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SseChat.Web.Tests.Browser;

/// <summary>
/// The chat as people use it: real headless Chromium, real SseChat processes (from the build output in the
/// Development environment, so static files are served as in a publish) on a real redis-server. Every page runs
/// under a strict Content-Security-Policy (script-src 'self', style-src 'self'), added to each page's response here,
/// so a violation shows up as a console error and fails the test. Screenshots go to TestResults/screenshots.
/// </summary>
[Collection(BrowserGroup.Name)]
public sealed class ChatInBrowserTests(Chromium chromium, RedisServer redis) : IAsyncLifetime
{
    private const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _cspViolations = new();
    private Instances _instances = null!;

    private AppProcess _a => _instances[0];

    private AppProcess _b => _instances[1];

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout((float)Bound.TotalMilliseconds);
        _instances = await Instances.StartAsync(2, redis.Configuration, new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Chat__PresenceExpiry"] = "00:00:10",
            ["Chat__PresenceLeaveGrace"] = "00:00:00.500",
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        await _instances.DisposeAsync();
        Assert.True(_cspViolations.IsEmpty, "The page broke its Content-Security-Policy or threw:\n" + string.Join("\n", _cspViolations));
    }

    [Fact]
    public async Task Two_people_on_two_instances_talk_both_ways_and_see_each_other_come_and_go()
    {
        var ann = await OpenAsync(_a, "/rooms/demo", desktop: true);
        var bob = await OpenAsync(_b, "/rooms/demo", desktop: false);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        await Expect(bob.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        await RenameAsync(ann, "Ann");
        await RenameAsync(bob, "Bob");

        // Each sees both, by their new names, and themselves marked.
        foreach (var page in new[] { ann, bob })
        {
            await Expect(page.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
            await Expect(page.Locator("#presence li .nick")).ToHaveTextAsync(["Ann", "Bob"]);
            await Expect(page.Locator("#presence .count")).ToHaveTextAsync("2");
            await Expect(page.Locator("#room-list a[aria-current=page] + .count")).ToHaveTextAsync("2");
        }

        await Expect(ann.Locator("#presence li.own .nick")).ToHaveTextAsync("Ann");
        await Expect(bob.Locator("#presence li.own .nick")).ToHaveTextAsync("Bob");

        // Ann sends with Enter: the box empties and keeps the focus, and the message is hers.
        await ann.Locator("#text").FillAsync("Hello Bob, from A");
        await ann.Locator("#text").PressAsync("Enter");
        await Expect(bob.Locator("#messages .msg .text")).ToHaveTextAsync(["Hello Bob, from A"]);
        await Expect(ann.Locator("#messages .msg.own .text")).ToHaveTextAsync(["Hello Bob, from A"]);
        await Expect(bob.Locator("#messages .msg.own")).ToHaveCountAsync(0);
        await Expect(ann.Locator("#text")).ToHaveValueAsync("");
        await Expect(ann.Locator("#text")).ToBeFocusedAsync();

        // Bob answers with two lines: Shift+Enter is a new line, Enter sends.
        await bob.Locator("#text").PressSequentiallyAsync("Hi Ann");
        await bob.Locator("#text").PressAsync("Shift+Enter");
        await bob.Locator("#text").PressSequentiallyAsync("from B");
        await bob.Locator("#text").PressAsync("Enter");
        await Expect(ann.Locator("#messages .msg .text")).ToHaveTextAsync(["Hello Bob, from A", "Hi Ann\nfrom B"]);
        await Expect(bob.Locator("#messages .msg.own .text")).ToHaveTextAsync(["Hi Ann\nfrom B"]);
        Assert.Equal("Hi Ann\nfrom B", await ann.Locator("#messages .msg .text").Last.TextContentAsync()); // a real line break
        await Expect(bob.Locator("#text")).ToBeFocusedAsync();

        // Times are the reader's own: Ann reads in Tokyo time, Bob in New York time.
        await ExpectLocalTimeAsync(ann, "Asia/Tokyo");
        await ExpectLocalTimeAsync(bob, "America/New_York");

        await ScreenshotAsync(ann, "chat-desktop");
        await ScreenshotAsync(bob, "chat-phone-dark");

        // Bob closes his tab: Ann sees him leave, and the list shrink.
        await bob.Context.CloseAsync();
        await Expect(ann.Locator("#messages .notice.user-left[data-nick=Bob]")).ToHaveCountAsync(1);
        await Expect(ann.Locator("#presence li .nick")).ToHaveTextAsync(["Ann"]);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
    }

    [Fact]
    public async Task A_reload_shows_the_history_and_then_only_new_messages()
    {
        var ann = await OpenAsync(_a, "/rooms/history", desktop: true);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        foreach (var text in new[] { "one", "two", "three" })
        {
            await ann.Locator("#text").FillAsync(text);
            await ann.Locator("#text").PressAsync("Enter");
            await Expect(ann.Locator("#messages .msg .text").Last).ToHaveTextAsync(text);
        }

        await ann.ReloadAsync();

        await Expect(ann.Locator("#messages .msg.own .text")).ToHaveTextAsync(["one", "two", "three"]);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        await ann.Locator("#text").FillAsync("four");
        await ann.Locator("#send button[type=submit]").ClickAsync();
        await Expect(ann.Locator("#messages .msg .text")).ToHaveTextAsync(["one", "two", "three", "four"]);
        await Expect(ann.Locator("#text")).ToBeFocusedAsync(); // after a click on Send too
    }

    [Fact]
    public async Task The_list_follows_new_messages_unless_the_reader_scrolled_up()
    {
        var reader = await OpenAsync(_a, "/rooms/scroll", desktop: true, height: 420);
        var writer = await OpenAsync(_b, "/rooms/scroll", desktop: true);
        await Expect(reader.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        var list = reader.Locator("#messages");
        for (var i = 1; i <= 12; i++)
        {
            await SendAsync(writer, $"line {i}");
        }

        await Expect(reader.Locator("#messages .msg")).ToHaveCountAsync(12);
        Assert.True(await list.EvaluateAsync<bool>("l => l.scrollHeight > l.clientHeight * 1.5"), "the list should overflow for this test");
        await Expect(list).ToHaveJSPropertyAsync("scrollTop", await list.EvaluateAsync<double>("l => l.scrollHeight - l.clientHeight"));
        await Expect(reader.Locator("#jump")).ToBeHiddenAsync();

        // The reader scrolls up to read: new messages do not pull the list down, a button offers to.
        await list.EvaluateAsync("l => l.scrollTop = 0");
        await Expect(list).ToHaveJSPropertyAsync("scrollTop", 0);
        await SendAsync(writer, "while reading above");
        await Expect(reader.Locator("#messages .msg .text").Last).ToHaveTextAsync("while reading above");
        await Expect(reader.Locator("#jump")).ToBeVisibleAsync();
        Assert.Equal(0, await list.EvaluateAsync<double>("l => l.scrollTop"));

        await reader.Locator("#jump").ClickAsync();
        await Expect(reader.Locator("#jump")).ToBeHiddenAsync();
        await Expect(list).ToHaveJSPropertyAsync("scrollTop", await list.EvaluateAsync<double>("l => l.scrollHeight - l.clientHeight"));
        await SendAsync(writer, "following again");
        await Expect(reader.Locator("#messages .msg .text").Last).ToHaveTextAsync("following again");
        await Expect(list).ToHaveJSPropertyAsync("scrollTop", await list.EvaluateAsync<double>("l => l.scrollHeight - l.clientHeight"));
    }

    [Fact]
    public async Task A_page_whose_instance_restarts_shows_reconnecting_then_everything_sent_meanwhile_once()
    {
        var ann = await OpenAsync(_a, "/rooms/restart", desktop: true);
        var bob = await OpenAsync(_b, "/rooms/restart", desktop: false);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        await Expect(bob.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        await SendAsync(bob, "before the restart");
        await Expect(ann.Locator("#messages .msg .text")).ToHaveTextAsync(["before the restart"]);

        await _a.TerminateAsync(TimeSpan.FromSeconds(15)); // SIGTERM: streams are told to reconnect, then A exits
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "reconnecting");
        await Expect(ann.Locator("#conn")).ToHaveTextAsync("Reconnecting…");
        await ScreenshotAsync(ann, "reconnecting");

        var meanwhile = new[] { "sent while A was down 1", "sent while A was down 2", "sent while A was down 3" };
        foreach (var text in meanwhile)
        {
            await SendAsync(bob, text);
        }

        await Expect(bob.Locator("#messages .msg .text")).ToHaveTextAsync(["before the restart", .. meanwhile]);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "reconnecting"); // still: A is down

        await _instances.StartAgainAsync(0); // the same address: the page reconnects there

        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = 60_000 });
        await Expect(ann.Locator("#messages .msg .text")).ToHaveTextAsync(["before the restart", .. meanwhile]);
        var ids = await ann.Locator("#messages .msg").EvaluateAllAsync<string[]>("items => items.map(i => i.id)");
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.Equal(await bob.Locator("#messages .msg").EvaluateAllAsync<string[]>("items => items.map(i => i.id)"), ids);

        await SendAsync(ann, "back on A");
        await Expect(bob.Locator("#messages .msg .text").Last).ToHaveTextAsync("back on A");
    }

    [Fact]
    public async Task Text_typed_while_a_send_is_on_its_way_moves_into_the_fresh_form()
    {
        var ann = await OpenAsync(_a, "/rooms/typing", desktop: true);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");
        // Hold the POST until more has been typed, as on a slow connection.
        var typedMore = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await ann.RouteAsync("**/messages", async route =>
        {
            await typedMore.Task.WaitAsync(TimeSpan.FromSeconds(15));
            await route.ContinueAsync();
        });

        await ann.Locator("#text").FillAsync("first message");
        await ann.Locator("#text").PressAsync("Enter");
        await ann.Locator("#text").PressSequentiallyAsync(" and the next one");
        typedMore.SetResult();

        await Expect(ann.Locator("#messages .msg.own .text")).ToHaveTextAsync(["first message"]);
        await Expect(ann.Locator("#text")).ToHaveValueAsync("and the next one");
    }

    [Fact]
    public async Task A_send_that_fails_shows_why_and_keeps_the_text_and_sending_again_works()
    {
        var ann = await OpenAsync(_a, "/rooms/outage", desktop: true);
        await Expect(ann.Locator("#conn")).ToHaveAttributeAsync("data-state", "connected");

        await redis.StopAsync();
        try
        {
            await ann.Locator("#text").FillAsync("this must not be lost");
            await ann.Locator("#text").PressAsync("Enter");
            await Expect(ann.Locator("#form-error")).ToContainTextAsync("Not confirmed");
            await Expect(ann.Locator("#text")).ToHaveValueAsync("this must not be lost");
            await ScreenshotAsync(ann, "send-failed");
        }
        finally
        {
            await redis.StartAsync();
        }

        // The user sends the same form again until it goes through (the bus needs a moment to reconnect).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int status;
        do
        {
            var response = await ann.RunAndWaitForResponseAsync(
                () => ann.Locator("#send button[type=submit]").ClickAsync(), r => r.Url.EndsWith("/messages", StringComparison.Ordinal));
            status = response.Status;
            if (status != 200)
            {
                Assert.Equal(503, status);
                await Expect(ann.Locator("#text")).ToHaveValueAsync("this must not be lost");
                await Task.Delay(500); // a person waits a moment before trying again
            }
        }
        while (status != 200 && DateTime.UtcNow < deadline);

        Assert.Equal(200, status);
        await Expect(ann.Locator("#messages .msg.own .text")).ToHaveTextAsync(["this must not be lost"]);
        await Expect(ann.Locator("#text")).ToHaveValueAsync("");
        await Expect(ann.Locator("#form-error")).ToBeEmptyAsync();
    }

    /// <summary>A new person (a browser context of its own: own cookies) opens a page, under the strict CSP.</summary>
    private async Task<IPage> OpenAsync(AppProcess instance, string path, bool desktop, int height = 720)
    {
        var context = await chromium.Browser.NewContextAsync(new()
        {
            BaseURL = instance.BaseAddress.ToString(),
            ViewportSize = desktop ? new() { Width = 1100, Height = height } : new() { Width = 390, Height = 800 },
            IsMobile = !desktop,
            HasTouch = !desktop,
            ColorScheme = desktop ? ColorScheme.Light : ColorScheme.Dark,
            Locale = "en-GB",
            TimezoneId = desktop ? "Asia/Tokyo" : "America/New_York",
        });
        _contexts.Add(context);
        context.SetDefaultTimeout((float)Bound.TotalMilliseconds);
        // Pages only (the stream is never intercepted): their response gets the policy.
        await context.RouteAsync(url => IsPage(new Uri(url).AbsolutePath), async route =>
        {
            var response = await route.FetchAsync();
            var headers = new Dictionary<string, string>(response.Headers) { ["content-security-policy"] = Csp };
            await route.FulfillAsync(new() { Response = response, Headers = headers });
        });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || message.Text.Contains("Refused to", StringComparison.Ordinal))
            {
                _cspViolations.Enqueue($"{message.Text} (at {message.Location})");
            }
        };
        page.PageError += (_, error) => _cspViolations.Enqueue("page error: " + error);
        await page.GotoAsync(path);
        return page;
    }

    /// <summary>
    /// With the caret left as it is: hiding it makes Playwright add a style element to the page, which the policy
    /// (rightly) blocks and this test would report as the page's own violation.
    /// </summary>
    private static Task<byte[]> ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath(name), Caret = ScreenshotCaret.Initial });

    private static bool IsPage(string path) =>
        path == "/" || (path.StartsWith("/rooms/", StringComparison.Ordinal) && path.Count(c => c == '/') == 2);

    private static async Task RenameAsync(IPage page, string nick)
    {
        await page.Locator("#nick-input").FillAsync(nick);
        await page.RunAndWaitForResponseAsync(() => page.Locator("#nick button[type=submit]").ClickAsync(), r => r.Url.EndsWith("/nick", StringComparison.Ordinal));
        await Expect(page.Locator("#nick-input")).ToHaveValueAsync(nick);
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.Locator("#text").FillAsync(text);
        await page.Locator("#text").PressAsync("Enter");
        await Expect(page.Locator("#text")).ToHaveValueAsync("");
        await Expect(page.Locator("#messages .msg.own .text").Last).ToHaveTextAsync(text);
    }

    /// <summary>The last message's time reads as the clock in the reader's time zone shows it.</summary>
    private static async Task ExpectLocalTimeAsync(IPage page, string timeZone)
    {
        var time = page.Locator("#messages .msg time").Last;
        var utc = DateTimeOffset.Parse((await time.GetAttributeAsync("datetime"))!, CultureInfo.InvariantCulture);
        var local = TimeZoneInfo.ConvertTime(utc, TimeZoneInfo.FindSystemTimeZoneById(timeZone));
        await Expect(time).ToHaveTextAsync(local.ToString("HH:mm", CultureInfo.InvariantCulture));
        await Expect(time).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex(local.Year.ToString(CultureInfo.InvariantCulture)));
    }
}
