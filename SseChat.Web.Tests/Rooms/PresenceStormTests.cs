using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using SseChat.Web.Tests.Delivery;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Rooms;

/// <summary>
/// Many people entering and leaving one room at once, on either bus: each stream gets about one presence update per
/// coalescing window, not one per person, every coming and going is still told once, and the list is capped.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed partial class PresenceStormTests(RedisServer redis)
{
    private const int Crowd = 200;
    private const int ListLimit = 50;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public async Task A_crowd_entering_and_leaving_costs_each_stream_about_one_update_per_window(string mode)
    {
        using var app = ChatModes.Create(mode, redis, new()
        {
            ["Chat:PresenceLeaveGrace"] = "00:00:00",
            ["Chat:PresenceListLimit"] = ListLimit.ToString(CultureInfo.InvariantCulture),
            ["Chat:PresenceCoalesceWindow"] = "00:00:01",
            ["Limits:StreamsPerAddress"] = "1000",
        });
        using var browser = new ChatBrowser(); // no cookies: every stream is a new guest, a person of its own
        var http = browser.Client(app.BaseAddress);
        await using var watcher = await SseClient.ConnectAsync(http, "/rooms/crowd/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "the watcher's own join notice");

        var crowd = new List<SseClient>();
        try
        {
            var entering = Stopwatch.StartNew();
            foreach (var batch in Enumerable.Range(0, Crowd).Chunk(20))
            {
                crowd.AddRange(await Task.WhenAll(batch.Select(_ => SseClient.ConnectAsync(http, "/rooms/crowd/events"))));
            }

            var everyone = Crowd + 1;
            await Task.WhenAll(crowd.Append(watcher).Select(s =>
                s.WaitUntilAsync(seen => seen.Any(e => Count(e) == everyone), $"a list of {everyone}", TimeSpan.FromSeconds(60))));
            entering.Stop();

            // Each stream: a bounded number of updates (about one a window while the crowd came in), lists that only
            // grew (versions never went back), and the last one capped, with the true count.
            var bound = (int)(entering.Elapsed / Window) + 3;
            foreach (var stream in crowd.Append(watcher))
            {
                var counts = stream.Seen.Select(Count).OfType<int>().ToArray();
                Assert.True(counts.Length <= bound, $"{counts.Length} presence updates on one stream in {entering.Elapsed.TotalSeconds:0.0} s (bound {bound})");
                Assert.Equal(counts.Order(), counts);
                var last = await ListAsync(stream.Seen.Last(e => Count(e) is not null));
                Assert.Equal((ListLimit, $"and {everyone - ListLimit} more"), (last.Names.Length, last.More));
            }

            Assert.True(bound < Crowd / 4, $"the crowd took {entering.Elapsed.TotalSeconds:0.0} s to come in: too slow to tell coalescing from one by one");
            // Nothing lost in the gathering: the watcher was told of every one of them (and itself), once.
            Assert.Equal(everyone, Told(watcher, "user-joined", "data-joined"));

            // The page lists no more than the stream does.
            var page = (await browser.GetPageAsync(app.BaseAddress, "/rooms/crowd")).Document.QuerySelector("#presence")!;
            Assert.Equal((ListLimit, everyone.ToString(CultureInfo.InvariantCulture), $"and {everyone - ListLimit} more"),
                (page.QuerySelectorAll("li .nick").Length, page.QuerySelector(".count")!.TextContent, page.QuerySelector(".more")?.TextContent));

            foreach (var stream in crowd)
            {
                await stream.DisposeAsync();
            }

            crowd.Clear();
            await watcher.WaitUntilAsync(seen => Count(seen[^1]) == 1, "the list of one after the crowd left", TimeSpan.FromSeconds(60));
            Assert.Equal(Crowd, Told(watcher, "user-left", "data-left"));
            var final = await ListAsync(watcher.Seen[^1]);
            Assert.Equal((1, (string?)null), (final.Names.Length, final.More));
        }
        finally
        {
            foreach (var stream in crowd)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public async Task A_change_in_a_quiet_room_shows_at_once_not_at_the_end_of_the_window(string mode)
    {
        using var app = ChatModes.Create(mode, redis, new() { ["Chat:PresenceCoalesceWindow"] = "00:01:00" });
        using var browser = new ChatBrowser();
        var started = Stopwatch.StartNew();

        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/rooms/quiet/events");
        var joined = await stream.WaitForAsync(e => e.Kind == "user-joined", "the own join notice, at once");

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed.TotalSeconds:0.0} s, as long as half the window");
        Assert.Equal(1, Count(joined));
    }

    /// <summary>How many comings (or goings) the stream was told of: single notices plus the counts of summary lines.</summary>
    private static int Told(SseClient stream, string single, string summaryCount) =>
        stream.Seen.Sum(e => e.Kind == single ? 1
            : e.Kind == "presence-summary" ? int.Parse(SummaryCount(e.Data, summaryCount), CultureInfo.InvariantCulture)
            : 0);

    private static string SummaryCount(string data, string attribute) =>
        Regex.Match(data, $"{attribute}=\"(\\d+)\"").Groups[1].Value;

    /// <summary>The head count of the list an event carries, or null.</summary>
    private static int? Count(SseEvent e) =>
        CountPattern().Match(e.Data) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    private static async Task<(string[] Names, string? More)> ListAsync(SseEvent e)
    {
        var list = (await ChatBrowser.Parse($"<ol>{e.Data}</ol>")).QuerySelector("#presence")!;
        return (list.QuerySelectorAll("li .nick").Select(n => n.TextContent).ToArray(), list.QuerySelector(".more")?.TextContent);
    }

    [GeneratedRegex("<span class=\"count\">(\\d+)</span>")]
    private static partial Regex CountPattern();
}
