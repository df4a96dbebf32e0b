using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;
using SseChat.Web.Tests.Infrastructure;
using StackExchange.Redis;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// The Redis presence store itself, several "instances" of it (each its own instance id) on real Redis: the Lua scripts
/// that decide who announces what, and the rooms index they keep. Notices are read from the room's channel, as
/// instances read them.
/// </summary>
public abstract class RedisPresenceStoreCases : IAsyncLifetime
{
    /// <summary>On the 3-shard test cluster this room's slot and the rooms index's are on different shards.</summary>
    protected const string Room = "presence";
    private readonly Channel<ChatEvent> _notices = Channel.CreateUnbounded<ChatEvent>();
    private readonly string _configuration;
    private ServiceProvider _services = null!;

    protected RedisPresenceStoreCases(string configuration)
    {
        _configuration = configuration;
        Keys = new RedisKeys(RedisServer.NewKeyPrefix());
    }

    private protected RedisKeys Keys { get; }

    protected ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await ConnectionMultiplexer.ConnectAsync(_configuration);
        _services = new ServiceCollection()
            .AddResiliencePipeline(RedisResilience.Writes, RedisResilience.ConfigureWrites)
            .AddResiliencePipeline(RedisResilience.Reads, RedisResilience.ConfigureReads)
            .AddMetrics()
            .AddSingleton<ChatMetrics>()
            .BuildServiceProvider();
        var queue = await Redis.GetSubscriber().SubscribeAsync(Keys.Channel(Room));
        queue.OnMessage(m => _notices.Writer.TryWrite(RedisWireFormat.ReadFrame((string)m.Message!).Event));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await Redis.DisposeAsync();
    }

    [Fact]
    public async Task However_many_instances_sweep_an_expired_hold_its_person_is_announced_left_once()
    {
        var expiry = TimeSpan.FromSeconds(1);
        var dying = Store(expiry);
        var sweepers = Enumerable.Range(0, 8).Select(_ => Store(TimeSpan.FromSeconds(20))).ToArray();
        var ghost = Person("ghost");
        var sinceHold = Stopwatch.StartNew();
        await dying.HoldAsync(Room, ghost, CancellationToken.None);
        Assert.Equal(ChatEventKind.UserJoined, (await NextNoticeAsync()).Kind);
        var announced = await sweepers[0].SweepAsync([], CancellationToken.None);
        if (sinceHold.Elapsed < expiry)
        {
            Assert.Equal(0, announced); // not expired yet: nothing to do (a machine slower than the expiry skips this)
        }

        await Wait.UntilAsync(async () =>
        {
            var rounds = await Task.WhenAll(sweepers.Select(s => s.SweepAsync([], CancellationToken.None)));
            announced += rounds.Sum();
            return announced > 0;
        }, Wait.Default, "the hold to expire and be swept");
        announced += (await Task.WhenAll(sweepers.Select(s => s.SweepAsync([], CancellationToken.None)))).Sum();

        Assert.Equal(1, announced);
        var left = await NextNoticeAsync();
        Assert.Equal((ChatEventKind.UserLeft, "ghost"), (left.Kind, left.Nick));
        Assert.Equal(0, left.Presence!.Count);
        await AssertNoMoreNoticesAsync();
        Assert.Empty((await sweepers[0].ReadAsync(Room, CancellationToken.None)).People);
        Assert.DoesNotContain(await sweepers[0].RoomsAsync(10, CancellationToken.None), r => r.Room == Room);
    }

    [Fact]
    public async Task A_person_held_by_two_instances_stays_when_one_of_them_dies()
    {
        var dying = Store(TimeSpan.FromMilliseconds(300));
        var living = Store(TimeSpan.FromSeconds(20));
        var ann = Person("ann");
        Assert.True((await dying.HoldAsync(Room, ann, CancellationToken.None)).Announced);
        Assert.False((await living.HoldAsync(Room, ann, CancellationToken.None)).Announced);
        await NextNoticeAsync();

        var announced = 0;
        await Wait.UntilAsync(async () =>
        {
            announced += await living.SweepAsync([], CancellationToken.None);
            return await Redis.GetDatabase().SortedSetLengthAsync(Keys.PresenceHolds(Room)) == 1;
        }, Wait.Default, "the dead instance's hold to be swept");

        Assert.Equal(0, announced);
        Assert.Equal(["ann"], (await living.ReadAsync(Room, CancellationToken.None)).People.Select(p => p.Nick));
        await AssertNoMoreNoticesAsync();
        await living.ReleaseAsync(Room, ann, CancellationToken.None);
        Assert.Equal(ChatEventKind.UserLeft, (await NextNoticeAsync()).Kind);
    }

    [Fact]
    public async Task A_renewal_takes_a_swept_person_back_in_without_overwriting_a_newer_name()
    {
        var stalled = Store(TimeSpan.FromMilliseconds(300));
        var other = Store(TimeSpan.FromSeconds(20));
        var ann = Person("ann");
        await stalled.HoldAsync(Room, ann, CancellationToken.None);
        await NextNoticeAsync();
        await Wait.UntilAsync(async () => await other.SweepAsync([], CancellationToken.None) == 1, Wait.Default, "the stalled hold to be swept");
        Assert.Equal(ChatEventKind.UserLeft, (await NextNoticeAsync()).Kind);

        // The stalled instance comes back to life and renews: the person is back, announced once.
        Assert.Equal(1, await stalled.RenewAsync(Room, [ann], CancellationToken.None));
        Assert.Equal(0, await stalled.RenewAsync(Room, [ann], CancellationToken.None));
        Assert.Equal(ChatEventKind.UserJoined, (await NextNoticeAsync()).Kind);

        // A rename through any instance wins over what a holding instance renews with later.
        await other.RenameAsync(Room, ann with { Nick = "Ann B." }, CancellationToken.None);
        Assert.Equal(ChatEventKind.PresenceChanged, (await NextNoticeAsync()).Kind);
        await stalled.RenewAsync(Room, [ann], CancellationToken.None);
        Assert.Equal(["Ann B."], (await other.ReadAsync(Room, CancellationToken.None)).People.Select(p => p.Nick));
        await AssertNoMoreNoticesAsync();
    }

    [Fact]
    public async Task A_renewal_of_more_people_than_one_call_takes_brings_back_only_those_Redis_lost_each_announced_once()
    {
        var store = Store(TimeSpan.FromSeconds(20));
        var people = Enumerable.Range(0, (RedisPresenceStore.RenewBatch * 2) + 100).Select(i => Person($"p{i:D4}")).ToArray();
        foreach (var person in people)
        {
            await store.HoldAsync(Room, person, CancellationToken.None);
        }

        await NoticesAsync(people.Length, ChatEventKind.UserJoined);
        Assert.Equal(0, await store.RenewAsync(Room, people, CancellationToken.None));
        await AssertNoMoreNoticesAsync();

        // Redis loses the room's presence (a restart without its data); half the people reconnect before the renewal.
        await Redis.GetDatabase().KeyDeleteAsync(
            [Keys.PresenceHolds(Room), Keys.PresencePeople(Room), Keys.PresenceMembers(Room), Keys.PresenceNames(Room)]);
        var back = people.Where((_, i) => i % 2 == 0).ToArray();
        foreach (var person in back)
        {
            await store.HoldAsync(Room, person, CancellationToken.None);
        }

        await NoticesAsync(back.Length, ChatEventKind.UserJoined);
        Assert.Equal(people.Length - back.Length, await store.RenewAsync(Room, people, CancellationToken.None));
        await NoticesAsync(people.Length - back.Length, ChatEventKind.UserJoined);
        await AssertNoMoreNoticesAsync();
        var read = await store.ReadAsync(Room, CancellationToken.None);
        Assert.Equal(people.Length, read.Count);
        Assert.Equal(people.Length, await Redis.GetDatabase().SortedSetLengthAsync(Keys.PresenceNames(Room)));
    }

    [Fact]
    public async Task Versions_grow_even_when_the_counter_is_lost()
    {
        var store = Store(TimeSpan.FromSeconds(20));
        var first = await store.HoldAsync(Room, Person("one"), CancellationToken.None);

        await Redis.GetDatabase().KeyDeleteAsync(Keys.PresenceVersion(Room)); // expired while idle, or Redis lost it
        var second = await store.HoldAsync(Room, Person("two"), CancellationToken.None);

        Assert.True(second.Version > first.Version, $"{second.Version} after {first.Version}");
        var notices = new[] { await NextNoticeAsync(), await NextNoticeAsync() };
        Assert.Equal([new PresenceStamp(first.Version, 1), new PresenceStamp(second.Version, 2)], notices.Select(n => n.Presence));
        Assert.Equal(2, (await store.ReadAsync(Room, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task The_list_is_the_first_people_by_name_with_the_true_count_and_follows_renames_and_leaves()
    {
        var store = Store(TimeSpan.FromSeconds(20), listLimit: 3);
        string[] nicks = ["dora", "Bob", "alice", "Émile", "carl", "Zed", "bob"];
        var people = nicks.Select(Person).ToArray();
        foreach (var person in people)
        {
            Assert.True((await store.HoldAsync(Room, person, CancellationToken.None)).Announced);
        }

        var notices = new List<ChatEvent>();
        for (var i = 0; i < nicks.Length; i++)
        {
            notices.Add(await NextNoticeAsync());
        }

        Assert.Equal(Enumerable.Range(1, nicks.Length), notices.Select(n => n.Presence!.Count)); // each notice: the head count
        var read = await store.ReadAsync(Room, CancellationToken.None);
        Assert.Equal(nicks.Length, read.Count);
        Assert.Equal(4, read.More);
        var bobs = people.Where(p => p.Nick is "Bob" or "bob").Select(p => p.Author).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["alice", ..people.Where(p => p.Author == bobs[0] || p.Author == bobs[1]).OrderBy(p => p.Author, StringComparer.Ordinal).Select(p => p.Nick)],
            read.People.Select(p => p.Nick)); // case-insensitive, equal names by tag

        // A second stream of someone already in: the bounded list comes back with the hold.
        var again = await store.HoldAsync(Room, people[0], CancellationToken.None);
        Assert.False(again.Announced);
        Assert.Equal((read.Version, read.Count), (again.Snapshot!.Version, again.Snapshot.Count));
        Assert.Equal(read.People, again.Snapshot.People);

        // "alice" becomes "Zoe": out of the first three; "carl" comes in.
        await store.RenameAsync(Room, people[2] with { Nick = "Zoe" }, CancellationToken.None);
        Assert.Equal(ChatEventKind.PresenceChanged, (await NextNoticeAsync()).Kind);
        Assert.Equal([.. read.People.Skip(1).Select(p => p.Nick), "carl"], (await store.ReadAsync(Room, CancellationToken.None)).People.Select(p => p.Nick));

        await store.ReleaseAsync(Room, people[6], CancellationToken.None);
        await store.ReleaseAsync(Room, people[1], CancellationToken.None);
        Assert.Equal(6, (await NextNoticeAsync()).Presence!.Count);
        Assert.Equal(5, (await NextNoticeAsync()).Presence!.Count);
        var after = await store.ReadAsync(Room, CancellationToken.None);
        Assert.Equal(5, after.Count);
        Assert.Equal(["carl", "dora", "Zed"], after.People.Select(p => p.Nick)); // by code point: "Émile" after "Zoe"
        Assert.Equal(5, await Redis.GetDatabase().SortedSetLengthAsync(Keys.PresenceNames(Room)));
    }

    [Fact]
    public async Task The_rooms_index_keeps_a_newer_count_against_a_late_older_one_and_a_sweep_puts_a_wrong_one_right()
    {
        var store = Store(TimeSpan.FromSeconds(20));
        Member[] people = [Person("ann"), Person("bob")];
        foreach (var person in people)
        {
            await store.HoldAsync(Room, person, CancellationToken.None);
        }

        Assert.Contains(new RoomOccupancy(Room, 2), await store.RoomsAsync(10, CancellationToken.None));

        // The index has heard of a version later than the next change (as if that change's update came late, after a
        // newer one): the change's own update is dropped.
        await Redis.GetDatabase().HashSetAsync(Keys.RoomVersions, Room, long.MaxValue / 4);
        await store.ReleaseAsync(Room, people[0], CancellationToken.None);
        Assert.Contains(new RoomOccupancy(Room, 2), await store.RoomsAsync(10, CancellationToken.None));

        // A sweep reads the true count and writes it back.
        Assert.Equal(0, await store.SweepAsync([], CancellationToken.None));
        Assert.Contains(new RoomOccupancy(Room, 1), await store.RoomsAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task A_room_the_index_lost_is_written_back_by_a_sweep_of_an_instance_holding_people_there()
    {
        var store = Store(TimeSpan.FromSeconds(20));
        await store.HoldAsync(Room, Person("ann"), CancellationToken.None);
        await Redis.GetDatabase().SortedSetRemoveAsync(Keys.RoomCounts, Room); // the update was lost (an instance died, a failover)
        Assert.DoesNotContain(await store.RoomsAsync(10, CancellationToken.None), r => r.Room == Room);

        await store.SweepAsync([], CancellationToken.None);
        Assert.DoesNotContain(await store.RoomsAsync(10, CancellationToken.None), r => r.Room == Room); // not in the index: not visited

        await store.SweepAsync([Room], CancellationToken.None);
        Assert.Contains(new RoomOccupancy(Room, 1), await store.RoomsAsync(10, CancellationToken.None));
    }

    private RedisPresenceStore Store(TimeSpan expiry, int listLimit = 100) => new(
        new RedisGateway(Redis, new RedisReplicaWait(Options.Create(new RedisOptions())), _services.GetRequiredService<ResiliencePipelineProvider<string>>(),
            _services.GetRequiredService<ChatMetrics>(), NullLogger<RedisGateway>.Instance),
        Keys, Options.Create(new ChatOptions { PresenceExpiry = expiry, PresenceListLimit = listLimit }), NullLogger<RedisPresenceStore>.Instance);

    private static Member Person(string nick) => TestPresence.Person(nick);

    private async Task<ChatEvent> NextNoticeAsync()
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        return await _notices.Reader.ReadAsync(cts.Token);
    }

    private async Task NoticesAsync(int count, ChatEventKind kind)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(kind, (await NextNoticeAsync()).Kind);
        }
    }

    /// <summary>Publishes a marker on the channel: pub/sub keeps order, so anything announced before arrives first.</summary>
    private async Task AssertNoMoreNoticesAsync()
    {
        var marker = new ChatEvent(ChatEventKind.PresenceChanged, Room, "marker-" + Guid.NewGuid().ToString("N"), "", DateTimeOffset.UnixEpoch,
            Presence: new PresenceStamp(0, 0));
        await Redis.GetSubscriber().PublishAsync(Keys.Channel(Room), RedisWireFormat.NoticeFrame(marker));
        var next = await NextNoticeAsync();
        Assert.True(next.Nick == marker.Nick, $"unexpected notice: {next.Kind} {next.Nick}");
    }
}
