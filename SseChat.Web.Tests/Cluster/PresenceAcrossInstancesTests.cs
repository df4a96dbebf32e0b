using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;
using SseChat.Web.Tests.Rooms;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// Presence across real SseChat processes on one real redis-server: a person is a browser, whichever instances their
/// tabs are on, and the people of an instance that dies are announced as left by the others, once, within the
/// (here short) presence expiry.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed partial class PresenceAcrossInstancesTests(RedisServer redis)
{
    /// <summary>
    /// Short, so the dead instance's people leave soon, but long enough that a live instance starved for a second on a
    /// busy machine still renews its holds (every third of it) before another sweeps them.
    /// </summary>
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(5);

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Chat__PresenceExpiry"] = "00:00:05",
        ["Chat__PresenceLeaveGrace"] = "00:00:00",
    };

    /// <summary>The default expiry: nothing in this test waits for one, and nothing should expire while it runs.</summary>
    private static readonly Dictionary<string, string?> NoLeaveGrace = new() { ["Chat__PresenceLeaveGrace"] = "00:00:00" };

    [Fact]
    public async Task Tabs_on_two_instances_are_one_person_joined_once_and_left_after_the_last()
    {
        await using var instances = await Instances.StartAsync(2, redis.Configuration, NoLeaveGrace);
        var (a, b) = (instances[0], instances[1]);
        using var watcherBrowser = Browser(a, "watcher");
        await using var watcher = await SseClient.ConnectAsync(watcherBrowser.Client(a.BaseAddress), "/rooms/multi/events");
        await watcher.WaitForAsync(e => e.Kind == "user-joined", "own join notice");

        using var ann = Browser(a, "ann");
        var page = await ann.GetPageAsync(a.BaseAddress, "/rooms/multi");
        var onA = await SseClient.ConnectAsync(ann.Client(a.BaseAddress), "/rooms/multi/events");
        var onB = await SseClient.ConnectAsync(ann.Client(b.BaseAddress), "/rooms/multi/events");
        await onB.WaitForAsync(e => e.Kind is "presence" or "user-joined", "the list on ann's tab on B");
        // Ann's join reaches the watcher at the end of the presence window its own join opened (Chat:PresenceCoalesceWindow,
        // 1 s), which a message posted now can overtake.
        await watcher.WaitForAsync(e => Is(e, "user-joined", "ann"), "ann's join");
        await PostAndAwaitAsync(ann, b, page, watcher, "both tabs open");
        Assert.Equal("2", await RedisAsync(instances, "multi", "HLEN", "people")); // watcher and ann ...
        Assert.Equal("3", await RedisAsync(instances, "multi", "ZCARD", "holds")); // ... ann held by both instances

        await onA.DisposeAsync();
        await Wait.UntilAsync(async () => await RedisAsync(instances, "multi", "ZCARD", "holds") == "2", Wait.Default,
            "instance A to let go of ann's closed tab");
        await PostAndAwaitAsync(ann, b, page, watcher, "one tab left");
        Assert.DoesNotContain(watcher.Seen, e => Is(e, "user-left", "ann"));

        await onB.DisposeAsync();
        var left = await watcher.WaitForAsync(e => Is(e, "user-left", "ann"), "ann left after the last tab");
        Assert.Single(watcher.Seen, e => Is(e, "user-joined", "ann")); // her second tab was never announced, windows later
        Assert.Equal(["watcher"], await PresenceStreamTests.PeopleAsync(left));
        Assert.Equal("1", await RedisAsync(instances, "multi", "HLEN", "people"));
    }

    [Fact]
    public async Task The_people_of_a_dead_instance_are_announced_left_once_by_the_survivors_within_the_expiry()
    {
        await using var instances = await Instances.StartAsync(3, redis.Configuration, Settings);
        var (a, doomed, c) = (instances[0], instances[1], instances[2]);
        using var watchers = Browser(a, "watcher");
        await watchers.GetPageAsync(a.BaseAddress, "/rooms/afterlife"); // one browser: one person, held by A and C
        await using var onA = await SseClient.ConnectAsync(watchers.Client(a.BaseAddress), "/rooms/afterlife/events");
        await using var onC = await SseClient.ConnectAsync(watchers.Client(c.BaseAddress), "/rooms/afterlife/events");
        await onA.WaitForAsync(e => e.Kind is "user-joined" or "presence", "watcher in on A");
        await onC.WaitForAsync(e => e.Kind is "user-joined" or "presence", "watcher in on C");

        using var ghost = Browser(doomed, "ghost");
        await ghost.GetPageAsync(doomed.BaseAddress, "/rooms/afterlife");
        var held = await SseClient.ConnectAsync(ghost.Client(doomed.BaseAddress), "/rooms/afterlife/events");
        await onA.WaitForAsync(e => Is(e, "user-joined", "ghost"), "ghost joined, seen on A");
        await onC.WaitForAsync(e => Is(e, "user-joined", "ghost"), "ghost joined, seen on C");

        var died = Stopwatch.StartNew();
        await doomed.KillAsync(); // SIGKILL: no leave, no goodbye; only its holds, which nobody renews now
        await held.DisposeAsync();

        var bound = (Expiry * 1.25) + TimeSpan.FromSeconds(5); // the promise, plus slack for a busy machine
        var leftOnA = await onA.WaitForAsync(e => Is(e, "user-left", "ghost"), "ghost left, seen on A", bound + TimeSpan.FromSeconds(10));
        Assert.True(died.Elapsed < bound, $"the left notice came {died.Elapsed.TotalSeconds:0.0} s after the instance died");
        await onC.WaitForAsync(e => Is(e, "user-left", "ghost"), "ghost left, seen on C");
        Assert.Equal(["watcher"], await PresenceStreamTests.PeopleAsync(leftOnA));

        // Once, though both survivors sweep: a marker posted afterwards arrives behind exactly one notice on each.
        using var poster = new ChatBrowser();
        var page = await poster.GetPageAsync(c.BaseAddress, "/rooms/afterlife");
        using (var marker = await poster.PostMessageAsync(c.BaseAddress, page, "after the sweep"))
        {
            Assert.Equal(HttpStatusCode.OK, marker.StatusCode);
        }

        await onA.WaitForMessageAsync("after the sweep");
        await onC.WaitForMessageAsync("after the sweep");
        Assert.Single(onA.Seen, e => Is(e, "user-left", "ghost"));
        Assert.Single(onC.Seen, e => Is(e, "user-left", "ghost"));

        // No ghost anywhere: not in Redis, not on a page, not in the room list.
        Assert.Equal("1", await RedisAsync(instances, "afterlife", "HLEN", "people"));
        Assert.Equal("2", await RedisAsync(instances, "afterlife", "ZCARD", "holds")); // the watcher's, on A and C
        var fresh = await poster.GetPageAsync(a.BaseAddress, "/rooms/afterlife");
        Assert.Equal(["watcher"], fresh.Document.QuerySelectorAll("#presence li .nick").Select(n => n.TextContent));
        var listed = fresh.Document.QuerySelectorAll("#room-list li").Single(li => li.QuerySelector("a")!.TextContent == "#afterlife");
        Assert.Equal("1", listed.QuerySelector(".count")!.TextContent);
    }

    private static ChatBrowser Browser(AppProcess instance, string nick)
    {
        var browser = new ChatBrowser();
        browser.Cookies.Add(instance.BaseAddress, new Cookie(Nickname.CookieName, nick));
        return browser;
    }

    private static async Task PostAndAwaitAsync(ChatBrowser browser, AppProcess instance, ChatPage page, SseClient watcher, string text)
    {
        using var response = await browser.PostMessageAsync(instance.BaseAddress, page, text, cmid: Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await watcher.WaitForMessageAsync(text);
    }

    private static bool Is(SseEvent e, string kind, string nick) =>
        e.Kind == kind && NickAttribute().Match(e.Data) is { Success: true } m && m.Groups[1].Value == nick;

    /// <summary>A RESP integer reply (":2") to a command on one of a room's presence keys, as text ("2").</summary>
    private async Task<string> RedisAsync(Instances instances, string room, string command, string key)
    {
        var keys = new RedisKeys(instances.KeyPrefix);
        var reply = await redis.CommandAsync($"{command} {(key == "people" ? keys.PresencePeople(room) : keys.PresenceHolds(room))}");
        return reply.TrimStart(':').Trim();
    }

    [GeneratedRegex("data-nick=\"([^\"]*)\"")]
    private static partial Regex NickAttribute();
}
