using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// Presence in one process (the tracker over the in-process store and bus), with a fake clock for the leave grace.
/// What is announced is read from the bus, as the room's hub would: every notice, in order. A marker notice published
/// after an action shows that the action announced nothing (the bus delivers in publish order).
/// </summary>
public sealed class PresenceTrackerTests : IAsyncLifetime
{
    private const string Room = "tests";
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly Channel<ChatEvent> _notices = Channel.CreateUnbounded<ChatEvent>();
    private InProcessChatBus _bus = null!;
    private PresenceTracker _tracker = null!;
    private IAsyncDisposable _subscription = null!;

    public async Task InitializeAsync()
    {
        var options = Options.Create(new ChatOptions { PresenceLeaveGrace = Grace });
        _bus = new InProcessChatBus(options, _time, NullLogger<InProcessChatBus>.Instance);
        _tracker = new PresenceTracker(new InProcessPresenceStore(_bus, options, _time), options, _time, NullLogger<PresenceTracker>.Instance);
        _subscription = await _bus.SubscribeAsync(Room, batch => { foreach (var e in batch) { _notices.Writer.TryWrite(e); } }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _subscription.DisposeAsync();
        await _bus.DisposeAsync();
    }

    [Fact]
    public async Task Several_streams_of_one_browser_are_one_person_joined_once_and_left_after_the_last_and_the_grace()
    {
        var ann = Person("ann");

        var first = await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        var second = await _tracker.EnterAsync(Room, ann, CancellationToken.None);

        Assert.True(first.Announced);
        Assert.False(second.Announced);
        Assert.Null(first.Snapshot); // its own notice brings the list
        Assert.Equal(first.Version, second.Version); // the second tab changed nothing
        Assert.Equal(["ann"], second.Snapshot!.People.Select(p => p.Nick));
        var joined = await NextNoticeAsync();
        Assert.Equal((ChatEventKind.UserJoined, "ann"), (joined.Kind, joined.Nick));
        Assert.Equal(new PresenceStamp(first.Version, 1), joined.Presence); // the version and the head count, not the list

        await _tracker.LeaveAsync(Room, ann);
        await _tracker.LeaveAsync(Room, ann);
        _time.Advance(Grace - TimeSpan.FromMilliseconds(1));
        await AssertNothingAnnouncedAsync("before the grace ran out");

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var left = await NextNoticeAsync();
        Assert.Equal((ChatEventKind.UserLeft, "ann"), (left.Kind, left.Nick));
        Assert.Equal(0, left.Presence!.Count);
        Assert.True(left.Presence.Version > joined.Presence!.Version);
        Assert.Empty((await _tracker.ReadAsync(Room, CancellationToken.None)).People);
    }

    [Fact]
    public async Task Coming_back_within_the_grace_announces_nothing()
    {
        var ann = Person("ann");
        await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        await NextNoticeAsync();

        await _tracker.LeaveAsync(Room, ann); // a reload: the stream closes ...
        _time.Advance(Grace / 2);
        var back = await _tracker.EnterAsync(Room, ann, CancellationToken.None); // ... and opens again
        _time.Advance(Grace * 2);

        Assert.False(back.Announced);
        Assert.Equal(["ann"], back.Snapshot!.People.Select(p => p.Nick));
        await AssertNothingAnnouncedAsync("after a reload within the grace");
    }

    [Fact]
    public async Task A_quick_close_reopen_close_leaves_once_a_full_grace_after_the_last_close()
    {
        var ann = Person("ann");
        await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        await NextNoticeAsync();

        await _tracker.LeaveAsync(Room, ann);
        _time.Advance(Grace - TimeSpan.FromSeconds(1));
        await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        await _tracker.LeaveAsync(Room, ann);
        _time.Advance(TimeSpan.FromSeconds(2)); // the first close's grace would have run out here
        await AssertNothingAnnouncedAsync("before the second close's grace ran out");

        _time.Advance(Grace);
        Assert.Equal(ChatEventKind.UserLeft, (await NextNoticeAsync()).Kind);
        await AssertNothingAnnouncedAsync("after the one left notice");
    }

    [Fact]
    public async Task Different_browsers_are_different_people_even_with_the_same_name()
    {
        var one = Person("sam");
        var other = Person("sam");

        await _tracker.EnterAsync(Room, one, CancellationToken.None);
        var second = await _tracker.EnterAsync(Room, other, CancellationToken.None);

        Assert.True(second.Announced);
        var read = await _tracker.ReadAsync(Room, CancellationToken.None);
        Assert.Equal(2, read.Count);
        Assert.Equal(new[] { one.Author, other.Author }.Order(StringComparer.Ordinal), read.People.Select(p => p.Author)); // same name: by tag
        var notices = new[] { await NextNoticeAsync(), await NextNoticeAsync() };
        Assert.All(notices, n => Assert.Equal(ChatEventKind.UserJoined, n.Kind));
        Assert.True(notices[1].Presence!.Version > notices[0].Presence!.Version);
    }

    [Fact]
    public async Task A_new_name_is_announced_as_a_change_of_the_list_not_as_a_join()
    {
        var ann = Person("ann");
        await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        await NextNoticeAsync();

        await _tracker.RenameAsync(Room, ann with { Nick = "Ann B." }, CancellationToken.None);
        var renamed = await NextNoticeAsync();
        Assert.Equal((ChatEventKind.PresenceChanged, "Ann B.", 1), (renamed.Kind, renamed.Nick, renamed.Presence!.Count));
        Assert.Equal(["Ann B."], (await _tracker.ReadAsync(Room, CancellationToken.None)).People.Select(p => p.Nick));

        // A stream that comes with yet another name (a reload after renaming elsewhere) stores it too.
        var entry = await _tracker.EnterAsync(Room, ann with { Nick = "Annie" }, CancellationToken.None);
        Assert.False(entry.Announced);
        Assert.Equal("Annie", (await NextNoticeAsync()).Nick);

        // Renaming someone who is not in the room changes nothing there.
        await _tracker.RenameAsync(Room, Person("ghost"), CancellationToken.None);
        await AssertNothingAnnouncedAsync("after renaming someone absent");
        Assert.Equal(["Annie"], (await _tracker.ReadAsync(Room, CancellationToken.None)).People.Select(p => p.Nick));
    }

    [Fact]
    public async Task The_room_list_counts_people_per_room()
    {
        await _tracker.EnterAsync("a", Person("x"), CancellationToken.None);
        await _tracker.EnterAsync("b", Person("y"), CancellationToken.None);
        await _tracker.EnterAsync("b", Person("z"), CancellationToken.None);

        var rooms = await _tracker.RoomsAsync(10, CancellationToken.None);

        Assert.Equal([new RoomOccupancy("b", 2), new RoomOccupancy("a", 1)], rooms);
    }

    private static Member Person(string nick) => TestPresence.Person(nick);

    private async Task<ChatEvent> NextNoticeAsync()
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        return await _notices.Reader.ReadAsync(cts.Token);
    }

    private async Task AssertNothingAnnouncedAsync(string when)
    {
        var marker = $"marker-{Guid.NewGuid():N}";
        await _bus.PublishNoticeAsync(new ChatEvent(ChatEventKind.PresenceChanged, Room, marker, "", _time.GetUtcNow()), CancellationToken.None);
        var next = await NextNoticeAsync();
        Assert.True(next.Nick == marker, $"Something was announced {when}: {next.Kind} {next.Nick}");
    }
}
