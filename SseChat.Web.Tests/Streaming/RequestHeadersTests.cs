using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// An open stream holds its request for its whole life. What the stream needs from the request's headers (the resume
/// point, the person's cookies) is read when it opens; the headers and the parsed cookies are let go then, not kept for
/// hours: a browser sends one to two kilobytes of them.
/// </summary>
public sealed class RequestHeadersTests
{
    [Fact]
    public async Task An_open_stream_keeps_no_request_headers_once_it_has_read_the_person_from_them()
    {
        var probe = new StreamContextProbe();
        await using var app = new ChatAppFactory(configure: web => web.ConfigureServices(services => services.AddSingleton<IStartupFilter>(probe)));
        using var browser = new ChatBrowser();
        browser.Cookies.Add(app.BaseAddress, new Cookie(Nickname.CookieName, "header-probe"));

        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), configure: request =>
            request.Headers.TryAddWithoutValidation("X-Padding", new string('a', 2000)));
        var joined = await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        Assert.Contains("header-probe", joined.Data, StringComparison.Ordinal); // the nick came from the cookie
        var context = await probe.Context.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(context.Request.Headers);
        Assert.Null(context.Features.Get<IRequestCookiesFeature>());
    }
}
