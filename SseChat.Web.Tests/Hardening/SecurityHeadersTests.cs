using System.Net;
using SseChat.Web.Hosting;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>Every answer carries the security headers (a stream those that apply to it); the page needs nothing the strict policy forbids.</summary>
public sealed class SecurityHeadersTests : ChatAppTests
{
    [Fact]
    public async Task Every_kind_of_answer_carries_the_security_headers()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);
        var http = Browser.Client(App.BaseAddress);
        var css = page.Document.QuerySelector("link[rel=stylesheet]")!.GetAttribute("href")!;
        var answers = new List<(string What, HttpResponseMessage Response)>
        {
            ("page", await http.GetAsync("/")),
            ("history", await http.GetAsync("/history")),
            ("static file", await http.GetAsync(css)),
            ("404", await http.GetAsync("/nope")),
            ("healthz", await http.GetAsync("/healthz")),
            ("post", await Browser.PostMessageAsync(App.BaseAddress, page, "headers")),
            ("invalid post", await Browser.PostMessageAsync(App.BaseAddress, page, "")),
            ("forged post", await Browser.PostFormAsync(App.BaseAddress, "/messages", htmx: true, new() { ["text"] = "x" })),
        };
        using var stream = await http.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);

        // A stream is not a document: the policy for what is not one, nosniff, and none of the headers only documents obey.
        Assert.Equal(SecurityHeaders.StreamContentSecurityPolicy, stream.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", stream.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.False(stream.Headers.Contains("X-Frame-Options"));
        Assert.False(stream.Headers.Contains("Permissions-Policy"));

        try
        {
            foreach (var (what, response) in answers)
            {
                Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var csp), $"{what}: no CSP");
                Assert.Equal(SecurityHeaders.ContentSecurityPolicy, csp.Single());
                Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
                Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
                Assert.Equal("same-origin", response.Headers.GetValues("Referrer-Policy").Single());
            }
        }
        finally
        {
            foreach (var (_, response) in answers)
            {
                response.Dispose();
            }
        }

        Assert.Contains("script-src 'self'", SecurityHeaders.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", SecurityHeaders.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", SecurityHeaders.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", SecurityHeaders.StreamContentSecurityPolicy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_has_no_inline_script_style_or_event_handler()
    {
        var page = await Browser.GetPageAsync(App.BaseAddress);

        Assert.All(page.Document.QuerySelectorAll("script"), s => Assert.False(string.IsNullOrEmpty(s.GetAttribute("src")), "inline script"));
        Assert.Empty(page.Document.QuerySelectorAll("style, [style]"));
        Assert.All(page.Document.All, e => Assert.DoesNotContain(e.Attributes, a => a.Name.StartsWith("on", StringComparison.Ordinal) || a.Name.StartsWith("hx-on", StringComparison.Ordinal)));
        Assert.All(page.Document.QuerySelectorAll("script[src], link[href]"), e =>
            Assert.StartsWith("/", e.GetAttribute("src") ?? e.GetAttribute("href"), StringComparison.Ordinal)); // same origin
    }
}
