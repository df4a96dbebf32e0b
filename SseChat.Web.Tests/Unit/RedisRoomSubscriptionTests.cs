using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The room subscription's ordering rules, with a log reader that fails and then succeeds: delivery never moves past a
/// message it has not delivered, a failed read is retried soon (not on the 15 s timer), and what waited comes out once,
/// in log order.
/// </summary>
public sealed class RedisRoomSubscriptionTests : IAsyncDisposable
{
    private static readonly CatchUpTiming Timing = new(
        Interval: TimeSpan.FromSeconds(15), RetryFirst: TimeSpan.FromMilliseconds(100), RetryMax: TimeSpan.FromSeconds(2), AfterRestore: TimeSpan.FromSeconds(1));

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch.AddDays(1));
    private readonly List<LoggedEvent> _log = [];
    private readonly Channel<string> _delivered = Channel.CreateUnbounded<string>();
    private readonly Channel<LogId> _reads = Channel.CreateUnbounded<LogId>();
    private readonly ChannelFeed _feed = new();
    private readonly RedisRoomSubscription _subscription;
    private int _failuresLeft;

    public RedisRoomSubscriptionTests()
    {
        _subscription = new RedisRoomSubscription("lobby", _feed, OnEvents, ReadAsync, (default, 0), Timing, _time, NullLogger.Instance);
        _subscription.Start(() => { });
    }

    [Fact]
    public async Task A_gap_whose_read_fails_holds_delivery_until_a_retry_reads_it_and_then_goes_on_in_order()
    {
        Live(1);
        Assert.Equal("1", await NextDeliveredAsync());

        // 2 was missed; 3 reveals the gap; the log cannot be read yet.
        _failuresLeft = 1;
        Logged(2);
        Live(3);
        await NextReadAsync();
        Live(4); // held too: it is in the log, the retry reads it
        await AssertNothingDeliveredAsync();

        // The retry comes within the first backoff (100 ms ± 20 %), long before the 15 s timer.
        _time.Advance(TimeSpan.FromMilliseconds(120));
        Assert.Equal(LogId(1), await NextReadAsync());
        Assert.Equal(["2", "3", "4"], [await NextDeliveredAsync(), await NextDeliveredAsync(), await NextDeliveredAsync()]);

        Live(5);
        Assert.Equal("5", await NextDeliveredAsync());
        await AssertNothingDeliveredAsync();
    }

    [Fact]
    public async Task Failed_reads_back_off_and_the_first_that_succeeds_delivers_everything_once()
    {
        Live(1);
        Assert.Equal("1", await NextDeliveredAsync());
        _failuresLeft = 3;
        Logged(2);
        Logged(3);
        Live(4);
        await NextFailedReadAsync(); // the next in 100 ms

        _time.Advance(TimeSpan.FromMilliseconds(120));
        await NextFailedReadAsync(); // the next in 200 ms
        _time.Advance(TimeSpan.FromMilliseconds(120));
        await AssertNoReadAsync();
        _time.Advance(TimeSpan.FromMilliseconds(130));
        await NextFailedReadAsync(); // the next in 400 ms
        Live(5);
        Live(6);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(LogId(1), await NextReadAsync());

        Assert.Equal(["2", "3", "4", "5", "6"], await DeliveredAsync(5));
        await AssertNothingDeliveredAsync();
    }

    [Fact]
    public async Task After_a_reconnect_a_failed_catch_up_is_retried_and_fills_the_gap_no_live_message_revealed()
    {
        Live(1);
        Assert.Equal("1", await NextDeliveredAsync());
        Logged(2); // published while pub/sub was away; nothing later comes to show the gap
        _failuresLeft = 1;

        _subscription.OnConnectionRestored();
        await NextFailedReadAsync();
        _time.Advance(TimeSpan.FromMilliseconds(120));

        Assert.Equal(LogId(1), await NextReadAsync());
        Assert.Equal("2", await NextDeliveredAsync());
    }

    [Fact]
    public async Task A_reconnect_reads_the_log_again_shortly_after_for_what_came_before_the_resubscription_was_active()
    {
        Live(1);
        Assert.Equal("1", await NextDeliveredAsync());
        _subscription.OnConnectionRestored();
        Assert.Equal(LogId(1), await NextReadAsync()); // nothing new yet
        Logged(2); // published after that read, before the re-subscription was active

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(LogId(1), await NextReadAsync());
        Assert.Equal("2", await NextDeliveredAsync());
    }

    [Fact]
    public async Task A_sequence_that_went_back_reads_the_log_first_so_nothing_after_the_reset_is_skipped()
    {
        Live(1);
        Live(2);
        Assert.Equal(["1", "2"], await DeliveredAsync(2));

        // Redis lost its data and counts afresh from 1: entry 10 (seq 1) was missed, entry 11 (seq 2) arrives.
        Logged(10, sequence: 1);
        Live(11, sequence: 2);

        Assert.Equal(["10", "11"], await DeliveredAsync(2));
    }

    [Fact]
    public async Task Notices_are_delivered_while_messages_are_held()
    {
        Live(1);
        Assert.Equal("1", await NextDeliveredAsync());
        _failuresLeft = 1;
        Live(3);
        await NextReadAsync();

        _feed.Publish(new ChatEvent(ChatEventKind.UserJoined, "lobby", "ann", "", DateTimeOffset.UnixEpoch), 0);

        Assert.Equal("joined ann", await NextDeliveredAsync());
    }

    [Fact]
    public async Task Messages_that_wait_while_a_batch_is_handled_come_next_as_one_batch()
    {
        using var holding = new SemaphoreSlim(0);
        var batches = Channel.CreateUnbounded<string>();
        var feed = new ChannelFeed();
        await using var subscription = new RedisRoomSubscription("slow", feed, batch =>
        {
            batches.Writer.TryWrite(string.Join(",", batch.Select(e => e.Id!.Value.Milliseconds)));
            if (batch[0].Id!.Value.Milliseconds == 1)
            {
                holding.Wait(TimeSpan.FromSeconds(5)); // the fan-out is busy with the first message
            }
        }, ReadAsync, (default, 0), Timing, _time, NullLogger.Instance);
        subscription.Start(() => { });
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        Live(feed, 1);
        Assert.Equal("1", await batches.Reader.ReadAsync(bound.Token));
        Live(feed, 2);
        Live(feed, 3);
        Live(feed, 4);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), subscription.Lag); // message 1, still being handled, came 3 s ago
        holding.Release();

        Assert.Equal("2,3,4", await batches.Reader.ReadAsync(bound.Token));
        await Infrastructure.Wait.UntilAsync(() => Task.FromResult(subscription.Lag == TimeSpan.Zero), TimeSpan.FromSeconds(5), "no lag once caught up");
    }

    [Fact]
    public async Task On_a_loop_thread_every_batch_is_handled_there_also_after_a_catch_up_whose_read_completes_elsewhere()
    {
        using var threads = new LoopThreads(1);
        var loopThread = threads.Next();
        var handled = Channel.CreateUnbounded<(string Ids, bool OnLoopThread)>();
        var feed = new ChannelFeed();
        await using var subscription = new RedisRoomSubscription("threads", feed, batch =>
            handled.Writer.TryWrite((string.Join(",", batch.Select(e => e.Id!.Value.Milliseconds)),
                SynchronizationContext.Current == loopThread && !Thread.CurrentThread.IsThreadPoolThread)),
            async (after, count, ct) =>
            {
                await Task.Delay(10, ct).ConfigureAwait(false); // the reply comes on another thread
                return await ReadAsync(after, count, ct).ConfigureAwait(false);
            },
            (default, 0), Timing, _time, NullLogger.Instance);
        subscription.Start(() => { }, loopThread);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        Live(feed, 1);
        Assert.Equal(("1", true), await handled.Reader.ReadAsync(bound.Token));
        Logged(2); // missed by pub/sub: 3 reveals the gap, the log is read
        Live(feed, 3);
        Assert.Equal(("2,3", true), await handled.Reader.ReadAsync(bound.Token));
        Live(feed, 4);
        Assert.Equal(("4", true), await handled.Reader.ReadAsync(bound.Token));
    }

    public async ValueTask DisposeAsync() => await _subscription.DisposeAsync();

    private static LogId LogId(long n) => new(n, 0);

    private static ChatEvent Message(long n) =>
        new(ChatEventKind.Message, "lobby", "ann", $"m{n}", DateTimeOffset.UnixEpoch, LogId(n), $"c{n}");

    /// <summary>Appends message n to the log (as the append script does), without publishing it.</summary>
    private void Logged(long n, long? sequence = null)
    {
        lock (_log)
        {
            _log.Add(new LoggedEvent(Message(n), sequence ?? n));
        }
    }

    /// <summary>Appends message n to the log and publishes it (pub/sub delivers it live).</summary>
    private void Live(long n, long? sequence = null) => Live(_feed, n, sequence);

    private void Live(ChannelFeed feed, long n, long? sequence = null)
    {
        Logged(n, sequence);
        feed.Publish(Message(n), sequence ?? n);
    }

    private Task<IReadOnlyList<LoggedEvent>> ReadAsync(LogId after, int maxCount, CancellationToken cancellationToken)
    {
        // The log is read before the read is reported, so what a test logs once it has seen the read is not in it.
        var fails = Interlocked.Decrement(ref _failuresLeft) >= 0;
        IReadOnlyList<LoggedEvent> read;
        lock (_log)
        {
            read = [.. _log.Where(e => e.Event.Id > after).OrderBy(e => e.Event.Id).Take(maxCount)];
        }

        _reads.Writer.TryWrite(after);
        return fails ? throw new BusUnavailableException("the log cannot be read") : Task.FromResult(read);
    }

    private void OnEvents(IReadOnlyList<ChatEvent> batch)
    {
        foreach (var e in batch)
        {
            _delivered.Writer.TryWrite(e.Kind == ChatEventKind.Message ? e.Id!.Value.Milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"joined {e.Nick}");
        }
    }

    private async Task<string> NextDeliveredAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await _delivered.Reader.ReadAsync(bound.Token);
    }

    private async Task<string[]> DeliveredAsync(int count)
    {
        var delivered = new string[count];
        for (var i = 0; i < count; i++)
        {
            delivered[i] = await NextDeliveredAsync();
        }

        return delivered;
    }

    private async Task<LogId> NextReadAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await _reads.Reader.ReadAsync(bound.Token);
    }

    /// <summary>
    /// Nothing was delivered beyond what the test took: a notice sent through the loop now comes out next. The loop
    /// handles its work in order, so everything queued before the notice has been handled by then.
    /// </summary>
    private async Task AssertNothingDeliveredAsync()
    {
        _feed.Publish(new ChatEvent(ChatEventKind.UserJoined, "lobby", "barrier", "", DateTimeOffset.UnixEpoch), 0);
        Assert.Equal("joined barrier", await NextDeliveredAsync());
    }

    /// <summary>
    /// The next read, one that fails, and the loop done with it: its retry is scheduled (so advancing the clock now reaches
    /// it) and nothing was delivered.
    /// </summary>
    private async Task NextFailedReadAsync()
    {
        await NextReadAsync();
        await AssertNothingDeliveredAsync();
    }

    /// <summary>No read was made beyond those the test took, with every catch-up request queued so far handled.</summary>
    private async Task AssertNoReadAsync()
    {
        await AssertNothingDeliveredAsync();
        Assert.False(_reads.Reader.TryRead(out var extra), $"unexpected read after {extra}");
    }

    /// <summary>Pub/sub's queue for one room, as the subscription reads it.</summary>
    private sealed class ChannelFeed : ILiveFeed
    {
        private readonly Channel<LiveEvent> _queue = Channel.CreateUnbounded<LiveEvent>();

        public void Publish(ChatEvent e, long sequence) => Assert.True(_queue.Writer.TryWrite(new LiveEvent(e, sequence)));

        public bool TryRead(out LiveEvent live) => _queue.Reader.TryRead(out live);

        public ValueTask<LiveEvent> ReadAsync(CancellationToken cancellationToken) => _queue.Reader.ReadAsync(cancellationToken);
    }
}
