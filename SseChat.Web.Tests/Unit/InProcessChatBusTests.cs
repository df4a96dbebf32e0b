using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

public sealed class InProcessChatBusTests
{
    [Fact]
    public async Task Ids_increase_in_publish_order_even_within_one_millisecond()
    {
        await using var bus = NewBus(new FixedTime());
        var ids = new List<LogId>();
        for (var i = 0; i < 5; i++)
        {
            var e = await bus.PublishMessageAsync(Message($"m{i}"), CancellationToken.None);
            ids.Add(Assert.NotNull(e.Id));
        }

        Assert.Equal(ids.Order().ToArray(), ids.ToArray());
        Assert.Equal(5, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_room_that_refuses_messages_appends_none_until_its_pause_ends_and_a_repeat_still_gets_its_id()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var bus = NewBus(time);
        var before = await bus.PublishMessageAsync(Message("before", "cmid-1"), CancellationToken.None);

        await bus.RefuseMessagesAsync("lobby", TimeSpan.FromSeconds(3), CancellationToken.None);
        await Assert.ThrowsAsync<RoomBusyException>(() => bus.PublishMessageAsync(Message("during", "cmid-2"), CancellationToken.None));
        Assert.Equal(before.Id, (await bus.PublishMessageAsync(Message("before", "cmid-1"), CancellationToken.None)).Id);
        var elsewhere = await bus.PublishMessageAsync(Message("other room", "cmid-3") with { Room = "other" }, CancellationToken.None);
        Assert.NotNull(elsewhere.Id);

        time.Advance(TimeSpan.FromSeconds(3));
        var after = await bus.PublishMessageAsync(Message("during", "cmid-2"), CancellationToken.None);
        Assert.True(after.Id > before.Id);
        Assert.Equal(["before", "during"], (await bus.ReadRecentAsync("lobby", 10, CancellationToken.None)).Select(e => e.Text));
    }

    [Fact]
    public async Task Subscribers_get_every_event_in_log_order_and_history_is_capped()
    {
        await using var bus = NewBus(TimeProvider.System, logMax: 100);
        var received = Channel.CreateUnbounded<ChatEvent>();
        await using var subscription = await bus.SubscribeAsync("lobby", batch => { foreach (var e in batch) { received.Writer.TryWrite(e); } }, CancellationToken.None);

        var published = new List<ChatEvent>();
        for (var i = 0; i < 150; i++)
        {
            published.Add(await bus.PublishMessageAsync(Message($"m{i}"), CancellationToken.None));
        }

        using var cts = new CancellationTokenSource(Wait.Default);
        for (var i = 0; i < 150; i++)
        {
            var e = await received.Reader.ReadAsync(cts.Token);
            Assert.Equal(published[i].Id, e.Id);
        }

        var history = await bus.ReadRecentAsync("lobby", 1000, CancellationToken.None);
        Assert.Equal(100, history.Count);
        Assert.Equal(published[^100..].Select(e => e.Id), history.Select(e => e.Id));
        Assert.Equal(["m148", "m149"], (await bus.ReadRecentAsync("lobby", 2, CancellationToken.None)).Select(e => e.Text));
    }

    [Fact]
    public async Task A_repeated_client_message_id_is_appended_once()
    {
        await using var bus = NewBus(TimeProvider.System);
        var first = await bus.PublishMessageAsync(Message("once", "cmid-1"), CancellationToken.None);
        var again = await bus.PublishMessageAsync(Message("once", "cmid-1"), CancellationToken.None);
        var other = await bus.PublishMessageAsync(Message("once", "cmid-2"), CancellationToken.None);

        Assert.Equal(first.Id, again.Id);
        Assert.NotEqual(first.Id, other.Id);
        Assert.Equal(2, (await bus.ReadRecentAsync("lobby", 10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Notices_are_delivered_but_not_logged()
    {
        await using var bus = NewBus(TimeProvider.System);
        var received = Channel.CreateUnbounded<ChatEvent>();
        await using var subscription = await bus.SubscribeAsync("lobby", batch => { foreach (var e in batch) { received.Writer.TryWrite(e); } }, CancellationToken.None);

        await bus.PublishNoticeAsync(new ChatEvent(ChatEventKind.UserJoined, "lobby", "ann", "", DateTimeOffset.UnixEpoch), CancellationToken.None);

        using var cts = new CancellationTokenSource(Wait.Default);
        var e = await received.Reader.ReadAsync(cts.Token);
        Assert.Equal(ChatEventKind.UserJoined, e.Kind);
        Assert.Null(e.Id);
        Assert.Empty(await bus.ReadRecentAsync("lobby", 10, CancellationToken.None));
    }

    [Theory]
    [InlineData("1-0", 1, 0)]
    [InlineData("1764234300000-12", 1764234300000, 12)]
    public void Log_ids_parse(string s, long ms, long seq)
    {
        Assert.True(LogId.TryParse(s, out var id));
        Assert.Equal(new LogId(ms, seq), id);
        Assert.Equal(s, id.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1-")]
    [InlineData("1-x")]
    [InlineData("+1-2")]
    public void Malformed_log_ids_do_not_parse(string? s) => Assert.False(LogId.TryParse(s, out _));

    private static InProcessChatBus NewBus(TimeProvider time, int logMax = 10_000) =>
        new(Options.Create(new ChatOptions { LogMaxLength = logMax }), time, NullLogger<InProcessChatBus>.Instance);

    private static ChatEvent Message(string text, string? cmid = null) =>
        new(ChatEventKind.Message, "lobby", "ann", text, DateTimeOffset.UnixEpoch, ClientMessageId: cmid);

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}
