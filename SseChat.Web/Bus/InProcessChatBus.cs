using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>
/// The embedded default: one instance, no Redis. Same semantics as <see cref="RedisChatBus"/>: Redis-style
/// monotonic ids, a capped log per room, duplicate client ids recognised, events delivered in log order.
/// </summary>
internal sealed class InProcessChatBus(IOptions<ChatOptions> options, TimeProvider time, ILogger<InProcessChatBus> logger)
    : IChatBus, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    private ILogger Logger => logger;

    private TimeProvider Time => time;

    public Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken)
    {
        var room = GetRoom(message.Room);
        return Task.FromResult(room.Append(message, options.Value, time.GetUtcNow()));
    }

    public ValueTask RefuseMessagesAsync(string room, TimeSpan duration, CancellationToken cancellationToken)
    {
        GetRoom(room).RefuseUntil(time.GetUtcNow() + duration);
        return ValueTask.CompletedTask;
    }

    /// <summary>Queued for delivery before this returns: notices go out in the order they were published.</summary>
    public ValueTask PublishNoticeAsync(ChatEvent notice, CancellationToken cancellationToken)
    {
        GetRoom(notice.Room).Publish(notice);
        return ValueTask.CompletedTask;
    }

    public Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ChatEvent>>(GetRoom(room).Recent(count));

    public Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken) =>
        Task.FromResult(GetRoom(room).After(after, maxCount));

    public Task<IRoomSubscription> SubscribeAsync(string room, Action<IReadOnlyList<ChatEvent>> handler, CancellationToken cancellationToken) =>
        Task.FromResult(GetRoom(room).Subscribe(handler));

    public async ValueTask DisposeAsync()
    {
        foreach (var room in _rooms.Values)
        {
            await room.StopAsync().ConfigureAwait(false);
        }
    }

    private Room GetRoom(string name) => _rooms.GetOrAdd(name, static (n, self) => new Room(n, self), this);

    private sealed class Room
    {
        private readonly string _name;
        private readonly InProcessChatBus _bus;
        private readonly Lock _gate = new();
        private readonly LinkedList<ChatEvent> _log = new();
        private readonly Dictionary<string, LogId> _clientIds = new(StringComparer.Ordinal);
        private readonly Queue<(string ClientId, DateTimeOffset Expires)> _clientIdExpiry = new();
        private DateTimeOffset _refusedUntil;
        private readonly Channel<ChatEvent> _dispatch =
            Channel.CreateUnbounded<ChatEvent>(new UnboundedChannelOptions { SingleReader = true });
        private ImmutableArray<Action<IReadOnlyList<ChatEvent>>> _handlers = [];
        private LogId _last;
        private LogId _maxTrimmed;
        private readonly Task _pump;
        private readonly WaitingClock _clock;

        public Room(string name, InProcessChatBus bus)
        {
            _name = name;
            _bus = bus;
            _clock = new WaitingClock(bus.Time);
            _pump = Task.Run(PumpAsync);
        }

        /// <summary>New messages are refused until <paramref name="until"/> (see <see cref="IChatBus.RefuseMessagesAsync"/>).</summary>
        public void RefuseUntil(DateTimeOffset until)
        {
            lock (_gate)
            {
                _refusedUntil = until;
            }
        }

        public ChatEvent Append(ChatEvent message, ChatOptions options, DateTimeOffset now)
        {
            lock (_gate)
            {
                ForgetExpiredClientIds(now);
                if (message.ClientMessageId is { } cmid && _clientIds.TryGetValue(cmid, out var existing))
                {
                    return message.WithId(existing);
                }

                if (now < _refusedUntil)
                {
                    throw new RoomBusyException($"Room {_name} refuses new messages for now.");
                }

                var ms = now.ToUnixTimeMilliseconds();
                _last = ms > _last.Milliseconds ? new LogId(ms, 0) : _last with { Sequence = _last.Sequence + 1 };
                var logged = message.WithId(_last);
                _log.AddLast(logged);
                while (_log.Count > options.LogMaxLength)
                {
                    _maxTrimmed = _log.First!.Value.Id!.Value;
                    _log.RemoveFirst();
                }

                if (message.ClientMessageId is { } id)
                {
                    _clientIds[id] = _last;
                    _clientIdExpiry.Enqueue((id, now + options.DuplicateWindow));
                }

                // Written under the lock so dispatch order is log order.
                Dispatch(logged);
                return logged;
            }
        }

        public void Publish(ChatEvent notice)
        {
            lock (_gate)
            {
                Dispatch(notice);
            }
        }

        public TimeSpan Lag => _clock.Lag;

        private void Dispatch(ChatEvent e) => _dispatch.Writer.TryWrite(e);

        public ChatEvent[] Recent(int count)
        {
            lock (_gate)
            {
                return _log.Skip(Math.Max(0, _log.Count - count)).ToArray();
            }
        }

        public LogRead After(LogId after, int maxCount)
        {
            lock (_gate)
            {
                var events = new List<ChatEvent>();
                // Walk back from the newest: a resume point is nearly always close to the end.
                for (var node = _log.Last; node is not null; node = node.Previous)
                {
                    if (node.Value.Id <= after)
                    {
                        break;
                    }

                    events.Add(node.Value);
                }

                events.Reverse();
                return new LogRead(events.Count > maxCount ? events[..maxCount] : events, _maxTrimmed > after);
            }
        }

        public IRoomSubscription Subscribe(Action<IReadOnlyList<ChatEvent>> handler)
        {
            lock (_gate)
            {
                _handlers = _handlers.Add(handler);
            }

            return new Unsubscriber(this, handler);
        }

        public async Task StopAsync()
        {
            _dispatch.Writer.TryComplete();
            await _pump.ConfigureAwait(false);
        }

        private void ForgetExpiredClientIds(DateTimeOffset now)
        {
            while (_clientIdExpiry.TryPeek(out var head) && head.Expires <= now)
            {
                _clientIdExpiry.Dequeue();
                _clientIds.Remove(head.ClientId);
            }
        }

        /// <summary>
        /// Hands what is waiting to the subscribers in one batch (at most IChatBus.MaxBatch events), and keeps the
        /// delivery-lag clock, as the Redis bus does.
        /// </summary>
        private async Task PumpAsync()
        {
            var reader = _dispatch.Reader;
            var batch = new List<ChatEvent>();
            while (true)
            {
                if (!reader.TryRead(out var first))
                {
                    _clock.Idle();
                    if (!await reader.WaitToReadAsync().ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                _clock.BatchStarted();
                batch.Clear();
                batch.Add(first);
                while (batch.Count < IChatBus.MaxBatch)
                {
                    if (!reader.TryRead(out var e))
                    {
                        _clock.FoundEmpty();
                        break;
                    }

                    batch.Add(e);
                }

                foreach (var handler in _handlers)
                {
                    try
                    {
                        handler(batch);
                    }
#pragma warning disable CA1031 // one failing subscriber must not stop delivery to the others
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        BusLog.HandlerFailed(_bus.Logger, _name, ex);
                    }
                }

                _clock.HandedOver();
            }
        }

        private sealed class Unsubscriber(Room room, Action<IReadOnlyList<ChatEvent>> handler) : IRoomSubscription
        {
            public TimeSpan Lag => room.Lag;

            public ValueTask DisposeAsync()
            {
                lock (room._gate)
                {
                    room._handlers = room._handlers.Remove(handler);
                }

                return ValueTask.CompletedTask;
            }
        }
    }
}
