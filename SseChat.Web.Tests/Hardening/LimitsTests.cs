using System.Net;
using SseChat.Web.Tests.Delivery;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>Abuse limits are hit and reported as readable answers, never a 500.</summary>
public sealed class LimitsTests
{
    [Fact]
    public async Task A_person_posting_too_fast_gets_429_with_a_readable_fragment_and_others_are_not_affected()
    {
        using var app = new ChatAppFactory(new() { ["Limits:PostBurst"] = "3", ["Limits:PostsPerSecond"] = "0.01" });
        using var ann = new ChatBrowser();
        var page = await ann.GetPageAsync(app.BaseAddress);

        for (var i = 0; i < 3; i++)
        {
            using var ok = await ann.PostMessageAsync(app.BaseAddress, page, $"burst {i}", cmid: ResumeTests.Cmid());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var limited = await ann.PostMessageAsync(app.BaseAddress, page, "one too many", cmid: ResumeTests.Cmid());
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        var fragment = await ChatBrowser.Parse(await limited.Content.ReadAsStringAsync());
        Assert.Contains("Slow down", fragment.QuerySelector("#form-error[hx-swap-oob]")!.TextContent, StringComparison.Ordinal);

        using var plain = await ann.PostMessageAsync(app.BaseAddress, page, "one too many, no js", htmx: false, cmid: ResumeTests.Cmid());
        Assert.Equal(HttpStatusCode.TooManyRequests, plain.StatusCode);
        Assert.Contains("Back to the chat", await plain.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Another person at the same address has a bucket of their own.
        using var bob = new ChatBrowser();
        var bobsPage = await bob.GetPageAsync(app.BaseAddress);
        using var bobs = await bob.PostMessageAsync(app.BaseAddress, bobsPage, "bob is fine");
        Assert.Equal(HttpStatusCode.OK, bobs.StatusCode);

        var history = (await ann.GetPageAsync(app.BaseAddress)).Document.QuerySelectorAll("#messages .text").Select(t => t.TextContent).ToArray();
        Assert.DoesNotContain("one too many", history);
    }

    [Fact]
    public async Task An_address_posting_too_fast_is_limited_whatever_the_cookies()
    {
        using var app = new ChatAppFactory(new() { ["Limits:AddressPostsPerSecond"] = "0.2" }); // a burst of 1
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var person = new ChatBrowser(); // a fresh cookie jar each time: a new "person"
            var page = await person.GetPageAsync(app.BaseAddress);
            using var response = await person.PostMessageAsync(app.BaseAddress, page, $"rotating cookies {i}");
            answers.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, answers[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, answers.Skip(1));
    }

    [Fact]
    public async Task Choosing_a_nickname_counts_against_the_same_persons_bucket_as_posting()
    {
        using var app = new ChatAppFactory(new() { ["Limits:PostBurst"] = "1", ["Limits:PostsPerSecond"] = "0.01" });
        using var ann = new ChatBrowser();
        var page = await ann.GetPageAsync(app.BaseAddress);
        using var sent = await ann.PostMessageAsync(app.BaseAddress, page, "my one post", cmid: ResumeTests.Cmid());
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);

        var token = ((AngleSharp.Html.Dom.IHtmlInputElement)page.Document.QuerySelector("#nick input[name=__RequestVerificationToken]")!).Value;
        using var renamed = await ann.PostFormAsync(app.BaseAddress, "/nick", htmx: false,
            new() { ["nick"] = "Ann Z.", ["room"] = "lobby", ["__RequestVerificationToken"] = token });

        Assert.Equal(HttpStatusCode.TooManyRequests, renamed.StatusCode);
        Assert.NotNull(renamed.Headers.RetryAfter);
        Assert.Contains("Slow down", await renamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Limits:StreamsPerAddress")]
    [InlineData("Limits:StreamsPerInstance")]
    public async Task Streams_over_the_cap_get_503_with_Retry_After_and_a_closed_stream_frees_its_place(string setting)
    {
        using var app = new ChatAppFactory(new() { [setting] = "2" });
        using var browser = new ChatBrowser();
        var first = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await using var second = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));

        using (var third = await browser.Client(app.BaseAddress).GetAsync("/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
            Assert.NotNull(third.Headers.RetryAfter);
            Assert.Contains("Too many open streams", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await first.DisposeAsync();
        await Wait.UntilAsync(async () =>
        {
            using var again = await browser.Client(app.BaseAddress).GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
            return again.StatusCode == HttpStatusCode.OK;
        }, Wait.Default, "a stream to be accepted once another closed");
    }

    [Fact]
    public async Task The_per_address_stream_cap_follows_the_forwarded_address_from_a_trusted_proxy()
    {
        // The test client is on loopback, which is a trusted proxy: its X-Forwarded-For is believed.
        using var app = new ChatAppFactory(new() { ["Limits:StreamsPerAddress"] = "1" });
        using var browser = new ChatBrowser();
        await using var a = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events", r => r.Headers.Add("X-Forwarded-For", "203.0.113.1"));
        await using var b = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events", r => r.Headers.Add("X-Forwarded-For", "203.0.113.2"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.Add("X-Forwarded-For", "203.0.113.1");
        using var again = await browser.Client(app.BaseAddress).SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
    }

    [Fact]
    public async Task Cookies_are_Secure_when_the_trusted_proxy_says_the_request_was_https()
    {
        using var app = new ChatAppFactory();
        // No cookie jar: each request is a first visit, so each answer sets its cookies.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = app.BaseAddress, Timeout = Wait.Default };

        using var plain = await http.GetAsync("/");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var viaHttps = await http.SendAsync(request);

        var plainCookies = plain.Headers.GetValues("Set-Cookie").ToArray();
        var httpsCookies = viaHttps.Headers.GetValues("Set-Cookie").ToArray();
        Assert.Equal(3, httpsCookies.Length); // nickname, browser id and antiforgery
        Assert.All(plainCookies, c => Assert.DoesNotContain("secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.All(httpsCookies, c => Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.All(httpsCookies.Concat(plainCookies), c =>
        {
            Assert.Contains("httponly", c, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=lax", c, StringComparison.OrdinalIgnoreCase);
        });
    }

    [Fact]
    public async Task Absurd_headers_are_refused_with_431()
    {
        using var app = new ChatAppFactory();
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Huge", new string('h', 20_000));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }
}
