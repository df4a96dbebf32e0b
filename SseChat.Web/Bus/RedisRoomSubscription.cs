using System.Threading.Channels;
using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>
/// This instance's subscription to one room. Pub/sub is the fast path; the room log closes its gaps. Each message
/// carries the room's sequence number: the next number is delivered at once, an older id is a duplicate and is
/// dropped, any other number (a jump: pub/sub lost something; a number that went back: Redis counts afresh after
/// losing data) means the log is read first. Delivery never moves past a message it has not delivered: when that read
/// fails, live messages are held (they are in the log) until a read succeeds, retried soon with a growing backoff.
/// A catch-up also runs when the connection is restored (and once more shortly after, since the re-subscription may not
/// be active yet when the client reports the connection back) and on a timer. Everything runs on one loop, which reads
/// the live events from pub/sub's queue itself (<see cref="ILiveFeed"/>) and runs a requested catch-up before the next
/// event it reads, so the handler sees each message once, in log order. The loop hands over what it has in batches: all
/// the events that were waiting when it got to them (at most <see cref="IChatBus.MaxBatch"/>), so a room that falls
/// behind catches up with fewer, larger writes, and one that keeps up gets each event alone, at once.
/// </summary>
internal sealed class RedisRoomSubscription : IRoomSubscription
{
    private const int CatchUpPage = 500;

    private readonly string _room;
    private readonly ILiveFeed _feed;
    private readonly Action<IReadOnlyList<ChatEvent>> _handler;
    private readonly List<ChatEvent> _batch = [];
    private readonly RoomLogReader _readLog;
    private readonly CatchUpTiming _timing;
    private readonly TimeProvider _time;
    private readonly WaitingClock _clock;
    private readonly ILogger _logger;
    private readonly Func<ValueTask> _unsubscribe;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _timerGate = new();
    // Cancelled to wake the loop from its wait for the next live event (a catch-up is wanted, or the subscription
    // stops); the loop then puts a fresh one here.
    private CancellationTokenSource _wake = new();
    private int _catchUpWanted;
    // Only the loop touches these.
    private LogId _lastId;
    private long _lastSequence;
    private bool _owed;
    private TimeSpan _retryDelay;
    private Task _loop = Task.CompletedTask;
    private ITimer? _interval;
    private ITimer? _soon;
    private long _soonDue = long.MaxValue;
    private int _disposed;

    public RedisRoomSubscription(
        string room,
        ILiveFeed feed,
        Action<IReadOnlyList<ChatEvent>> handler,
        RoomLogReader readLog,
        (LogId Id, long Sequence) start,
        CatchUpTiming timing,
        TimeProvider time,
        ILogger logger,
        Func<ValueTask>? unsubscribe = null)
    {
        _room = room;
        _feed = feed;
        _handler = handler;
        _readLog = readLog;
        (_lastId, _lastSequence) = start;
        _timing = timing;
        _retryDelay = timing.RetryFirst;
        _time = time;
        _clock = new WaitingClock(time);
        _logger = logger;
        _unsubscribe = unsubscribe ?? (static () => ValueTask.CompletedTask);
    }

    /// <summary>
    /// Starts the loop: on <paramref name="loopThread"/> when given (see <see cref="LoopThreads"/>), else on the thread
    /// pool. Every await of the loop keeps its context (<c>ConfigureAwait(true)</c>), so its waits for pub/sub and for the
    /// log come back to its thread: under a synchronization context .NET never runs a continuation that gave the context
    /// up inline, it queues it to the thread pool, and the loop would stay there. Without a context the two are the same.
    /// </summary>
    public void Start(Action onStopped, SynchronizationContext? loopThread = null)
    {
        // The base context's Post queues to the thread pool.
        var started = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        (loopThread ?? new SynchronizationContext()).Post(static state =>
        {
            var (self, started, onStopped) = ((RedisRoomSubscription, TaskCompletionSource<Task>, Action))state!;
            started.SetResult(self.LoopAsync(onStopped));
        }, (this, started, onStopped));
        _loop = started.Task.Unwrap();
        _interval = _time.CreateTimer(static state => ((RedisRoomSubscription)state!).RequestCatchUp(), this, _timing.Interval, _timing.Interval);
    }

    private async Task LoopAsync(Action onStopped)
    {
        try
        {
            await RunAsync(_stop.Token).ConfigureAwait(true);
        }
        finally
        {
            onStopped();
        }
    }

    public TimeSpan Lag => _clock.Lag;

    /// <summary>
    /// Asks the loop to read whatever the log holds after the last delivered id: before the next live event it reads,
    /// or at once if it is waiting for one.
    /// </summary>
    public void RequestCatchUp()
    {
        // Both sides use full fences: the loop puts a fresh wake source before it looks at the request, this looks at
        // the source after making the request, so a request is never left waiting with the loop asleep.
        Interlocked.Exchange(ref _catchUpWanted, 1);
        Wake();
    }

    /// <summary>Pub/sub kept nothing while the connection was away: catch up now, and once more shortly.</summary>
    public void OnConnectionRestored()
    {
        RequestCatchUp();
        ScheduleCatchUp(_timing.AfterRestore);
    }

    public async ValueTask DisposeAsync()
    {
        // Both the room hub and the bus dispose their subscriptions on shutdown: the second call does nothing.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_interval is not null)
        {
            await _interval.DisposeAsync().ConfigureAwait(false);
        }

        ITimer? soon;
        lock (_timerGate)
        {
            soon = _soon;
            _soon = null;
        }

        if (soon is not null)
        {
            await soon.DisposeAsync().ConfigureAwait(false);
        }

        await _unsubscribe().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        Wake();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private void Wake()
    {
        try
        {
            Volatile.Read(ref _wake).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The loop has just replaced it, and will look at the request before it waits again.
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // The first event of a batch: one that waits already, or the next to come.
            if (!_feed.TryRead(out var live))
            {
                _clock.Idle();
                if (await WaitAsync(cancellationToken).ConfigureAwait(true) is not { } next)
                {
                    return;
                }

                live = next;
            }

            _clock.BatchStarted();
            await HandleAsync(live, cancellationToken).ConfigureAwait(true);

            // The rest: everything that is waiting now is one batch; nothing waits for more to come.
            for (var taken = 1; taken < IChatBus.MaxBatch; taken++)
            {
                if (!_feed.TryRead(out live))
                {
                    _clock.FoundEmpty();
                    break;
                }

                await HandleAsync(live, cancellationToken).ConfigureAwait(true);
            }

            HandOver();
            _clock.HandedOver();
        }
    }

    /// <summary>
    /// Waits for the next live event, running each catch-up asked for meanwhile; null once the subscription stops or its
    /// feed has ended (StackExchange.Redis ends it only when it is unsubscribed, i.e. on <see cref="DisposeAsync"/>).
    /// </summary>
    private async ValueTask<LiveEvent?> WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Looked at after a fresh wake source is in place: DisposeAsync cancels the stop first, then the source.
            if (cancellationToken.IsCancellationRequested)
            {
                return null;
            }

            await CatchUpIfWantedAsync(cancellationToken).ConfigureAwait(true);
            HandOver(); // what a catch-up delivered goes out before the wait
            var wake = Volatile.Read(ref _wake);
            try
            {
                // Continued on the loop's own thread, if it has one (see LoopThreads).
                return await _feed.ReadAsync(wake.Token).ConfigureAwait(true);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
            catch (OperationCanceledException) when (wake.IsCancellationRequested)
            {
                // Woken to stop or for a catch-up: a fresh source first, then both are looked at (see RequestCatchUp).
                Interlocked.Exchange(ref _wake, new CancellationTokenSource()).Dispose();
            }
        }
    }

    private async ValueTask CatchUpIfWantedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _catchUpWanted) == 1 && Interlocked.Exchange(ref _catchUpWanted, 0) == 1)
        {
            await CatchUpAsync(cancellationToken).ConfigureAwait(true);
        }
    }

    private async ValueTask HandleAsync(LiveEvent live, CancellationToken cancellationToken)
    {
        // A catch-up asked for before this event was read runs first, as it would have had it been queued with it.
        await CatchUpIfWantedAsync(cancellationToken).ConfigureAwait(true);
        var (e, sequence) = live;
        if (e.Kind != ChatEventKind.Message)
        {
            Deliver(e); // a presence notice: live only, never logged
            return;
        }

        if (e.Id is not { } id || id <= _lastId || _owed)
        {
            return; // delivered already (by a catch-up), or held: the catch-up that is owed reads it from the log
        }

        if (sequence != _lastSequence + 1)
        {
            BusLog.GapDetected(_logger, _room, _lastSequence, sequence);
            if (!await CatchUpAsync(cancellationToken).ConfigureAwait(true) || id <= _lastId)
            {
                return;
            }

            // Not in the log although it was published (Redis lost it since): delivered as it comes.
        }

        Deliver(e);
        (_lastId, _lastSequence) = (id, sequence);
    }

    /// <summary>Delivers what the log holds after the last delivered id; false (and a retry soon) when it cannot be read.</summary>
    private async Task<bool> CatchUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // Back on the loop's own thread, if it has one (the reply comes on another).
                var entries = await _readLog(_lastId, CatchUpPage, cancellationToken).ConfigureAwait(true);
                var delivered = 0;
                foreach (var (e, sequence) in entries)
                {
                    if (e.Id is { } id && id > _lastId)
                    {
                        Deliver(e);
                        (_lastId, _lastSequence) = (id, sequence);
                        delivered++;
                    }
                }

                if (delivered > 0)
                {
                    BusLog.CaughtUp(_logger, _room, delivered);
                }

                if (entries.Count < CatchUpPage)
                {
                    break;
                }
            }
        }
        catch (BusUnavailableException ex)
        {
            if (!_owed)
            {
                _owed = true;
                BusLog.CatchUpFailed(_logger, _room, _lastId, ex);
            }

            ScheduleCatchUp(Jitter(_retryDelay));
            _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, _timing.RetryMax.Ticks));
            return false;
        }

        if (_owed)
        {
            _owed = false;
            BusLog.Repaired(_logger, _room, _lastId);
        }

        _retryDelay = _timing.RetryFirst;
        return true;
    }

    /// <summary>A catch-up within <paramref name="delay"/> (sooner if one is due sooner already).</summary>
    private void ScheduleCatchUp(TimeSpan delay)
    {
        lock (_timerGate)
        {
            if (_disposed == 1)
            {
                return;
            }

            var due = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            if (due >= _soonDue && _soonDue > _time.GetTimestamp())
            {
                return;
            }

            _soonDue = due;
            _soon ??= _time.CreateTimer(static state => ((RedisRoomSubscription)state!).RequestCatchUp(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _soon.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>±20 %, so the rooms of an instance (and the instances) do not all retry at the same moment.</summary>
    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.8 + (Random.Shared.NextDouble() * 0.4));

    /// <summary>Adds an event to the batch being gathered; a full batch is handed over at once.</summary>
    private void Deliver(ChatEvent e)
    {
        _batch.Add(e);
        if (_batch.Count >= IChatBus.MaxBatch)
        {
            HandOver();
        }
    }

    private void HandOver()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        try
        {
            _handler(_batch);
        }
#pragma warning disable CA1031 // a failing handler is logged, never thrown into the subscription loop
        catch (Exception ex)
#pragma warning restore CA1031
        {
            BusLog.HandlerFailed(_logger, _room, ex);
        }

        _batch.Clear();
    }
}
