using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// The default mode: a real process with no Redis setting at all. It must neither need nor look for Redis
/// (this test points REDIS-looking settings nowhere and takes no redis-server fixture).
/// </summary>
public sealed class EmbeddedModeTests
{
    [Fact]
    public async Task With_no_redis_configured_one_process_is_a_complete_chat()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>());
        using var browser = new ChatBrowser();
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        var page = await browser.GetPageAsync(app.BaseAddress);
        using var response = await browser.PostMessageAsync(app.BaseAddress, page, "embedded hello");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var e = await stream.WaitForMessageAsync("embedded hello");
        Assert.Matches(@"^\d+-\d+$", e.Id);
        Assert.Contains("in-process bus", app.Output, StringComparison.Ordinal);
        Assert.Contains($"Open {app.BaseAddress.ToString().TrimEnd('/')} in a browser", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Redis", app.Output.Replace("set Redis__Configuration", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
