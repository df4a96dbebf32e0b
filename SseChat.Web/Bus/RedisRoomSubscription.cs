using System.Threading.Channels;
using SseChat.Web.Chat;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// This instance's subscription to one room. Pub/sub is the fast path; the room log closes its gaps. Each message
/// carries the room's sequence number: the next number is delivered at once, an older id is a duplicate and is
/// dropped, a jump means pub/sub lost something (e.g. while Redis restarted) and the missing messages are read from
/// the log first. A catch-up also runs when the connection is restored and on a timer, for a gap that no later
/// message reveals. Everything runs on one loop, so the handler sees each message once, in log order.
/// </summary>
internal sealed partial class RedisRoomSubscription : IAsyncDisposable
{
    private const int CatchUpPage = 500;

    private readonly string _room;
    private readonly ChannelMessageQueue _queue;
    private readonly Func<ChatEvent, ValueTask> _handler;
    private readonly RedisChatBus _bus;
    private readonly TimeSpan _catchUpInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private LogId _lastId;
    private long _lastSequence;
    private Task _loop = Task.CompletedTask;
    private ITimer? _timer;
    private int _disposed;

    public RedisRoomSubscription(
        string room,
        ChannelMessageQueue queue,
        Func<ChatEvent, ValueTask> handler,
        RedisChatBus bus,
        (LogId Id, long Sequence) start,
        TimeSpan catchUpInterval,
        TimeProvider time,
        ILogger logger)
    {
        _room = room;
        _queue = queue;
        _handler = handler;
        _bus = bus;
        (_lastId, _lastSequence) = start;
        _catchUpInterval = catchUpInterval;
        _time = time;
        _logger = logger;
    }

    public void Start(Action onStopped)
    {
        // The queue form of OnMessage hands messages over one at a time, in order.
        _queue.OnMessage(message =>
        {
            try
            {
                var (e, sequence) = EventCodec.DeserializeChannelPayload((string)message.Message!);
                _work.Writer.TryWrite(new Work(e, sequence));
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or OverflowException)
            {
                MalformedMessage(_room, ex);
            }
        });
        _loop = Task.Run(async () =>
        {
            try
            {
                await RunAsync(_stop.Token).ConfigureAwait(false);
            }
            finally
            {
                onStopped();
            }
        });
        _timer = _time.CreateTimer(_ => RequestCatchUp(), null, _catchUpInterval, _catchUpInterval);
    }

    /// <summary>Asks the loop to read whatever the log holds after the last delivered id.</summary>
    public void RequestCatchUp() => _work.Writer.TryWrite(Work.CatchUp);

    public async ValueTask DisposeAsync()
    {
        // Both the room hub and the bus dispose their subscriptions on shutdown: the second call does nothing.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (RedisException ex)
        {
            // Redis is already gone (e.g. stopped before this instance): the subscription went with the connection.
            UnsubscribeFailed(_room, ex);
        }

        _work.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var work in _work.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (work.Event is null)
            {
                await CatchUpAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            var e = work.Event;
            if (e.Id is null)
            {
                await DeliverAsync(e).ConfigureAwait(false); // a presence notice: live only, never logged
                continue;
            }

            if (!LogId.TryParse(e.Id, out var id) || id <= _lastId)
            {
                continue; // already delivered (by a catch-up that read it from the log)
            }

            // A jump in the sequence is a gap to fill from the log first. (A number at or below ours with a newer
            // id means Redis lost its data and counts afresh: delivered as it comes.)
            if (work.Sequence > _lastSequence + 1)
            {
                GapDetected(_room, _lastSequence, work.Sequence);
                await CatchUpAsync(cancellationToken).ConfigureAwait(false);
                if (id <= _lastId)
                {
                    continue;
                }
            }

            await DeliverAsync(e).ConfigureAwait(false);
            (_lastId, _lastSequence) = (id, work.Sequence);
        }
    }

    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var (_, entries) = await _bus.ReadLogAfterAsync(_room, _lastId, CatchUpPage, cancellationToken).ConfigureAwait(false);
                foreach (var (e, sequence) in entries)
                {
                    await DeliverAsync(e).ConfigureAwait(false);
                    (_lastId, _lastSequence) = (LogId.ParseOrDefault(e.Id), sequence);
                }

                if (entries.Count > 0)
                {
                    CaughtUp(_room, entries.Count);
                }

                if (entries.Count < CatchUpPage)
                {
                    return;
                }
            }
        }
        catch (BusUnavailableException)
        {
            // Redis is still away: the timer or the next restored connection tries again.
        }
    }

    private async ValueTask DeliverAsync(ChatEvent e)
    {
        try
        {
            await _handler(e).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failing handler is logged, never thrown into the subscription loop
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HandlerFailed(_room, ex);
        }
    }

    /// <summary>A live message with its sequence number, or (no event) a request to catch up from the log.</summary>
    private readonly record struct Work(ChatEvent? Event, long Sequence)
    {
        public static Work CatchUp => default;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: could not unsubscribe; Redis is not reachable.")]
    private partial void UnsubscribeFailed(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: pub/sub skipped from sequence {Last} to {Next}; reading the gap from the log.")]
    private partial void GapDetected(string room, long last, long next);

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: delivered {Count} messages from the log that pub/sub had missed.")]
    private partial void CaughtUp(string room, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: a pub/sub message could not be decoded and was skipped.")]
    private partial void MalformedMessage(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: the subscriber failed on an event.")]
    private partial void HandlerFailed(string room, Exception exception);
}
