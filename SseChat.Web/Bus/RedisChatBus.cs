using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Scale-out bus. A message is appended to the room's capped Redis Stream and published on the room's channel by one
/// Lua script, so log order and delivery order agree and the stream id is the SSE id on every instance. Each instance
/// holds one subscription per room (<see cref="RedisRoomSubscription"/>), which fills any gap in what pub/sub delivered
/// from the log. Keys and channels are named by <see cref="RedisKeys"/>, frames by <see cref="RedisWireFormat"/>.
/// </summary>
internal sealed class RedisChatBus : IChatBus, IAsyncDisposable
{
    // A repeated client id returns the first append's id and publishes nothing; a room that refuses messages for now
    // (its busy key) appends nothing. The sequence number travels with the message (and is stored with it) so
    // subscribers can tell a gap from a duplicate.
    private static readonly LuaScript AppendAndPublish = LuaScript.Prepare(RedisWireFormat.LuaFill + """
        local existing = redis.call('GET', @clientKey)
        if existing then return {0, existing} end
        if redis.call('EXISTS', @busyKey) == 1 then return {2, ''} end
        local seq = redis.call('INCR', @seqKey)
        local id = redis.call('XADD', @logKey, 'MAXLEN', '~', @maxLength, '*', 'e', @payload, 's', seq)
        redis.call('SET', @clientKey, id, 'EX', @dedupeSeconds)
        redis.call('SPUBLISH', @channel, fill(@framePrefix, {i = id, s = tostring(seq)}) .. @payload)
        return {1, id}
        """);

    // Entries after an id, and where the log's gap starts: once "MAXLEN ~" has trimmed anything (more entries were added
    // than it holds), a resume point older than its first entry has lost messages. (XINFO's max-deleted-entry-id counts
    // only XDEL, not trimming.) The one false alarm, a resume point equal to the newest trimmed entry, costs a history
    // reload, never a message.
    private static readonly LuaScript ReadAfter = LuaScript.Prepare("""
        local gapBefore = '0-0'
        local info = redis.pcall('XINFO', 'STREAM', @logKey)
        if type(info) == 'table' and info.err == nil then
            local length, added, first = 0, 0, nil
            for i = 1, #info, 2 do
                local key = info[i]
                if key == 'length' then length = info[i + 1]
                elseif key == 'entries-added' then added = info[i + 1]
                elseif key == 'first-entry' and type(info[i + 1]) == 'table' then first = info[i + 1][1] end
            end
            if added > length and first then gapBefore = first end
        end
        return {gapBefore, redis.call('XRANGE', @logKey, '(' .. @after, '+', 'COUNT', @count)}
        """);

    private readonly RedisGateway _redis;
    private readonly RedisKeys _keys;
    private readonly IOptions<ChatOptions> _options;
    private readonly TimeProvider _time;
    private readonly ChatMetrics _metrics;
    private readonly LoopThreads _loopThreads;
    private readonly ILogger<RedisChatBus> _logger;
    /// <summary>How often the server each room's channel is subscribed at is looked at (see <see cref="CheckSubscriptions"/>).</summary>
    private static readonly TimeSpan SubscriptionCheck = TimeSpan.FromSeconds(1);

    /// <summary>This instance's room subscriptions, each with its channel and the server it was last seen subscribed at.</summary>
    private readonly ConcurrentDictionary<RedisRoomSubscription, Subscribed> _subscriptions = new();
    private readonly ITimer _check;

    public RedisChatBus(
        RedisGateway redis, RedisKeys keys, IOptions<ChatOptions> options, TimeProvider time, ChatMetrics metrics, LoopThreads loopThreads, ILogger<RedisChatBus> logger)
    {
        _redis = redis;
        _keys = keys;
        _options = options;
        _time = time;
        _metrics = metrics;
        _loopThreads = loopThreads;
        _logger = logger;
        redis.Connection.ConnectionFailed += OnConnectionFailed;
        redis.Connection.ConnectionRestored += OnConnectionRestored;
        _check = time.CreateTimer(static state => ((RedisChatBus)state!).CheckSubscriptions(), this, SubscriptionCheck, SubscriptionCheck);
    }

    public async Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken)
    {
        var clientId = message.ClientMessageId ?? throw new ArgumentException("A message needs a client message id.", nameof(message));
        var options = _options.Value;
        var args = new
        {
            clientKey = _keys.ClientMessage(message.Room, clientId),
            seqKey = _keys.Sequence(message.Room),
            busyKey = _keys.Busy(message.Room),
            logKey = _keys.Log(message.Room),
            maxLength = options.LogMaxLength,
            payload = RedisWireFormat.MessageBody(message),
            dedupeSeconds = (long)Math.Ceiling(options.DuplicateWindow.TotalSeconds),
            channel = (string)_keys.Channel(message.Room)!,
            framePrefix = RedisWireFormat.MessageFramePrefix,
        };

        var result = await _redis.WriteReplicatedAsync("append", message.Room, args.logKey, db => AppendAndPublish.EvaluateAsync(db, args), cancellationToken)
            .ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        if ((long)parts[0] == 2)
        {
            throw new RoomBusyException($"Room {message.Room} refuses new messages for now.");
        }

        var id = LogId.TryParse((string?)parts[1], out var parsed)
            ? parsed
            : throw new BusUnavailableException($"Redis append for room {message.Room} returned no log id.");
        if ((long)parts[0] == 0)
        {
            BusLog.DuplicateIgnored(_logger, message.Room, clientId, id);
        }

        return message.WithId(id);
    }

    public async ValueTask RefuseMessagesAsync(string room, TimeSpan duration, CancellationToken cancellationToken) =>
        await _redis.WriteAsync("busy", room, db => db.StringSetAsync(_keys.Busy(room), "1", duration), cancellationToken).ConfigureAwait(false);

    public async ValueTask PublishNoticeAsync(ChatEvent notice, CancellationToken cancellationToken) =>
        await _redis.WriteAsync("notice", notice.Room, db => db.PublishAsync(_keys.Channel(notice.Room), RedisWireFormat.NoticeFrame(notice)), cancellationToken)
            .ConfigureAwait(false);

    public async Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return [];
        }

        var entries = await _redis.ReadAsync("read", room, db => db.StreamRangeAsync(_keys.Log(room), "-", "+", count, Order.Descending), cancellationToken)
            .ConfigureAwait(false);
        var events = new List<ChatEvent>(entries.Length);
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            if (TryRead(room, entries[i].Id, (string?)entries[i]["e"], out var e))
            {
                events.Add(e);
            }
        }

        return events;
    }

    public async Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken)
    {
        var (gapBefore, entries) = await ReadLogAfterAsync(room, after, maxCount, cancellationToken).ConfigureAwait(false);
        return new LogRead(entries.Select(e => e.Event).ToArray(), after < gapBefore);
    }

    public async Task<IRoomSubscription> SubscribeAsync(string room, Action<IReadOnlyList<ChatEvent>> handler, CancellationToken cancellationToken)
    {
        ChannelMessageQueue queue;
        try
        {
            queue = await _redis.Connection.GetSubscriber().SubscribeAsync(_keys.Channel(room))
                .WaitAsync(RedisResilience.TotalBound, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            BusLog.RedisFailed(_logger, "subscribe", room, ex);
            _metrics.BusFailed("subscribe");
            throw new BusUnavailableException($"Redis subscribe for room {room} failed.", ex);
        }

        // Where the log stood when the subscription started: anything appended later reaches this instance, by pub/sub
        // or, if pub/sub missed it, from the log.
        (LogId Id, long Sequence) start;
        try
        {
            start = await ReadLatestAsync(room, cancellationToken).ConfigureAwait(false);
        }
        catch (BusUnavailableException)
        {
            await UnsubscribeAsync(room, queue).ConfigureAwait(false);
            throw;
        }

        // The subscription's loop reads the queue itself (see RedisLiveFeed): in order, one message at a time.
        var subscription = new RedisRoomSubscription(
            room,
            new RedisLiveFeed(queue, room, _logger),
            handler,
            async (after, count, ct) => (await ReadLogAfterAsync(room, after, count, ct).ConfigureAwait(false)).Entries,
            start,
            CatchUpTiming.For(_options.Value.HeartbeatInterval),
            _time,
            _logger,
            () => UnsubscribeAsync(room, queue));
        var channel = _keys.Channel(room);
        _subscriptions.TryAdd(subscription, new Subscribed(room, channel, _redis.Connection.GetSubscriber().SubscribedEndpoint(channel)));
        subscription.Start(() => _subscriptions.TryRemove(subscription, out _), _loopThreads.Next());
        return subscription;
    }

    public async ValueTask DisposeAsync()
    {
        _redis.Connection.ConnectionFailed -= OnConnectionFailed;
        _redis.Connection.ConnectionRestored -= OnConnectionRestored;
        await _check.DisposeAsync().ConfigureAwait(false);
        foreach (var subscription in _subscriptions.Keys)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The log after an id, with each entry's room sequence number; and the id below which the log was trimmed.</summary>
    private async Task<(LogId GapBefore, IReadOnlyList<LoggedEvent> Entries)> ReadLogAfterAsync(
        string room, LogId after, int maxCount, CancellationToken cancellationToken)
    {
        var args = new { logKey = _keys.Log(room), after = after.ToString(), count = maxCount };
        var result = await _redis.ReadAsync("read", room, db => ReadAfter.EvaluateAsync(db, args), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var gapBefore = LogId.ParseOrDefault((string?)parts[0]);
        var rows = (RedisResult[])parts[1]!;
        var entries = new List<LoggedEvent>(rows.Length);
        foreach (var row in rows)
        {
            var pair = (RedisResult[])row!;
            var fields = (RedisResult[])pair[1]!;
            string? body = null;
            long sequence = 0;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string?)fields[i])
                {
                    case "e":
                        body = (string?)fields[i + 1];
                        break;
                    case "s":
                        sequence = (long)fields[i + 1];
                        break;
                }
            }

            if (TryRead(room, (string?)pair[0], body, out var e))
            {
                entries.Add(new LoggedEvent(e, sequence));
            }
        }

        return (gapBefore, entries);
    }

    /// <summary>The newest log entry's id and sequence number (default when the log is empty).</summary>
    private async Task<(LogId Id, long Sequence)> ReadLatestAsync(string room, CancellationToken cancellationToken)
    {
        var entries = await _redis.ReadAsync("read", room, db => db.StreamRangeAsync(_keys.Log(room), "-", "+", 1, Order.Descending), cancellationToken)
            .ConfigureAwait(false);
        return entries.Length > 0 && LogId.TryParse(entries[0].Id, out var id) ? (id, (long)entries[0]["s"]) : default;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (_logger.IsEnabled(LogLevel.Warning))
        {
            var endPoint = e.EndPoint?.ToString();
            BusLog.ConnectionLost(_logger, e.ConnectionType, endPoint, e.FailureType, e.Exception);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var endPoint = e.EndPoint?.ToString();
            BusLog.ConnectionRestored(_logger, e.ConnectionType, endPoint);
        }

        _metrics.BusReconnected();
        // Pub/sub kept nothing while we were away: every room catches up from the last id it delivered.
        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.OnConnectionRestored();
        }
    }

    /// <summary>
    /// A room's channel is subscribed at another server than before: on a cluster, its slot's primary changed (a
    /// failover promoted the replica, or the slot was migrated) and the client re-subscribed the shard channel on the
    /// new owner; with Sentinel, the client moved to the new primary. No connection was restored to say so (the new
    /// server's was up all along), and whatever was published meanwhile never reached this instance: that room catches
    /// up from the log, now and once more shortly. The client raises no event for a re-subscription, so this looks.
    /// </summary>
    private void CheckSubscriptions()
    {
        var subscriber = _redis.Connection.GetSubscriber();
        foreach (var (subscription, subscribed) in _subscriptions)
        {
            var now = subscriber.SubscribedEndpoint(subscribed.Channel);
            if (Equals(now, subscribed.EndPoint))
            {
                continue;
            }

            subscribed.EndPoint = now;
            if (now is not null)
            {
                if (_logger.IsEnabled(LogLevel.Information))
                {
                    var at = now.ToString() ?? "";
                    BusLog.Resubscribed(_logger, subscribed.Room, at);
                }

                subscription.OnConnectionRestored();
            }
        }
    }

    private async ValueTask UnsubscribeAsync(string room, ChannelMessageQueue queue)
    {
        try
        {
            await queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (RedisException ex)
        {
            // Redis is already gone (e.g. stopped before this instance): the subscription went with the connection.
            BusLog.UnsubscribeFailed(_logger, room, ex);
        }
    }

    private bool TryRead(string room, string? id, string? body, out ChatEvent e)
    {
        try
        {
            e = RedisWireFormat.ReadLogEntry(
                LogId.TryParse(id, out var logId) ? logId : throw new JsonException("A log entry's id is not a log id."),
                body ?? throw new JsonException("A log entry has no body."));
            return true;
        }
        catch (JsonException ex)
        {
            BusLog.MalformedLogEntry(_logger, room, ex);
            e = null!;
            return false;
        }
    }

    /// <summary>A room's channel and the server it was last seen subscribed at (null: nowhere, for now).</summary>
    private sealed class Subscribed(string room, RedisChannel channel, EndPoint? endPoint)
    {
        public string Room { get; } = room;

        public RedisChannel Channel { get; } = channel;

        /// <summary>Only <see cref="CheckSubscriptions"/> changes it (the timer's callbacks do not overlap at this period).</summary>
        public EndPoint? EndPoint { get; set; } = endPoint;
    }
}
