using System.Globalization;
using System.Text.RegularExpressions;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>
/// /metrics exposes the app's instruments, and their values move when messages flow. A process of its own: the
/// exporter listens to every meter named "SseChat" in a process, so in-process test hosts would count each other.
/// </summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task Metrics_expose_streams_messages_and_fan_out_and_move_when_messages_flow()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>());
        using var browser = new ChatBrowser();
        var http = browser.Client(app.BaseAddress);
        var before = await ScrapeAsync(http);

        await using var a = await SseClient.ConnectAsync(http);
        await using var b = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        var page = await browser.GetPageAsync(app.BaseAddress);
        using var posted = await browser.PostMessageAsync(app.BaseAddress, page, "counted");
        await a.WaitForMessageAsync("counted");
        await b.WaitForMessageAsync("counted");
        // The exporter caches a scrape briefly (300 ms): poll until the scrape reflects the post.
        var during = "";
        await Wait.UntilAsync(async () =>
        {
            during = await ScrapeAsync(http);
            return Value(during, "ssechat_messages_published_total") > Value(before, "ssechat_messages_published_total");
        }, Wait.Default, "the published counter to move");

        Assert.Equal(Value(before, "ssechat_messages_published_total") + 1, Value(during, "ssechat_messages_published_total"));
        Assert.True(Value(during, "ssechat_messages_delivered_total") >= Value(before, "ssechat_messages_delivered_total") + 2);
        Assert.Equal(2, Value(during, "ssechat_streams_open"));
        Assert.True(Value(during, "ssechat_fanout_duration_milliseconds_count") > Value(before, "ssechat_fanout_duration_milliseconds_count"));

        await a.DisposeAsync();
        await Wait.UntilAsync(async () => Value(await ScrapeAsync(http), "ssechat_streams_open") == 1, Wait.Default, "the open-stream gauge to go down");
    }

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>A series' value summed over its label sets; 0 when it is not there yet (nothing recorded).</summary>
    private static double Value(string exposition, string name) =>
        Sample().Matches(exposition)
            .Where(m => m.Groups["name"].Value == name)
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{[^}]*\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
