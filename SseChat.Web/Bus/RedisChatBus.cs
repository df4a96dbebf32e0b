using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Scale-out bus. A message is appended to the room's capped Redis Stream and published on the room's channel
/// by one Lua script, so log order and delivery order agree and the stream id is the SSE id on every instance.
/// Each instance holds one subscription per room (<see cref="RedisRoomSubscription"/>), which fills any gap in
/// what pub/sub delivered from the log.
/// </summary>
internal sealed partial class RedisChatBus : IChatBus, IAsyncDisposable
{
    // A repeated client id returns the first append's id and publishes nothing. The sequence number travels with
    // the message (and is stored with it) so subscribers can tell a gap from a duplicate.
    private static readonly LuaScript AppendAndPublish = LuaScript.Prepare("""
        local existing = redis.call('GET', @clientKey)
        if existing then return {0, existing} end
        local seq = redis.call('INCR', @seqKey)
        local id = redis.call('XADD', @logKey, 'MAXLEN', '~', @maxLength, '*', 'e', @payload, 's', seq)
        redis.call('SET', @clientKey, id, 'EX', @dedupeSeconds)
        redis.call('PUBLISH', @channel, id .. '\n' .. seq .. '\n' .. @payload)
        return {1, id}
        """);

    // Entries after an id, and where the log's gap starts: once "MAXLEN ~" has trimmed anything (more entries
    // were added than it holds), a resume point older than its first entry has lost messages. (XINFO's
    // max-deleted-entry-id counts only XDEL, not trimming.) The one false alarm, a resume point equal to the
    // newest trimmed entry, costs a history reload, never a message.
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

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline _reads;
    private readonly IOptions<ChatOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisChatBus> _logger;
    private readonly ChatMetrics _metrics;
    private readonly ConcurrentDictionary<RedisRoomSubscription, byte> _subscriptions = new();

    public RedisChatBus(
        IConnectionMultiplexer redis,
        RedisKeys keys,
        ResiliencePipelineProvider<string> pipelines,
        IOptions<ChatOptions> options,
        TimeProvider time,
        ChatMetrics metrics,
        ILogger<RedisChatBus> logger)
    {
        _metrics = metrics;
        _redis = redis;
        _keys = keys;
        _pipeline = pipelines.GetPipeline(BusResilience.PublishPipeline);
        _reads = pipelines.GetPipeline(BusResilience.ReadPipeline);
        _options = options;
        _time = time;
        _logger = logger;
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    public async Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken)
    {
        var clientId = message.ClientMessageId ?? throw new ArgumentException("A message needs a client message id.", nameof(message));
        var payload = EventCodec.Serialize(message);
        var options = _options.Value;
        var args = new
        {
            clientKey = _keys.ClientMessage(message.Room, clientId),
            seqKey = _keys.Sequence(message.Room),
            logKey = _keys.Log(message.Room),
            maxLength = options.LogMaxLength,
            payload,
            dedupeSeconds = (long)Math.Ceiling(options.DuplicateWindow.TotalSeconds),
            channel = (string)_keys.Channel(message.Room)!,
        };

        var result = await RunAsync(
            "append",
            message.Room,
            async ct => await AppendAndPublish.EvaluateAsync(_redis.GetDatabase(), args).WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

        var parts = (RedisResult[])result!;
        var id = (string)parts[1]!;
        if ((long)parts[0] == 0)
        {
            DuplicateIgnored(message.Room, clientId, id);
        }

        return message.WithId(id);
    }

    public async Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return [];
        }

        var entries = await ReadAsync(
            room,
            async ct => await _redis.GetDatabase()
                .StreamRangeAsync(_keys.Log(room), "-", "+", count, Order.Descending)
                .WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

        var events = new List<ChatEvent>(entries.Length);
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            if (TryDecode(room, entries[i].Id!, (string?)entries[i]["e"], out var e))
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

    /// <summary>The log after an id, with each entry's room sequence number; and the id below which the log was trimmed.</summary>
    internal async Task<(LogId GapBefore, IReadOnlyList<LoggedEvent> Entries)> ReadLogAfterAsync(
        string room, LogId after, int maxCount, CancellationToken cancellationToken)
    {
        var args = new { logKey = _keys.Log(room), after = after.ToString(), count = maxCount };
        var result = await ReadAsync(
            room,
            async ct => await ReadAfter.EvaluateAsync(_redis.GetDatabase(), args).WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

        var parts = (RedisResult[])result!;
        var gapBefore = LogId.ParseOrDefault((string?)parts[0]);
        var rows = (RedisResult[])parts[1]!;
        var entries = new List<LoggedEvent>(rows.Length);
        foreach (var row in rows)
        {
            var pair = (RedisResult[])row!;
            var id = (string)pair[0]!;
            var fields = (RedisResult[])pair[1]!;
            string? payload = null;
            long sequence = 0;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string?)fields[i])
                {
                    case "e":
                        payload = (string?)fields[i + 1];
                        break;
                    case "s":
                        sequence = (long)fields[i + 1];
                        break;
                }
            }

            if (TryDecode(room, id, payload, out var e))
            {
                entries.Add(new LoggedEvent(e, sequence));
            }
        }

        return (gapBefore, entries);
    }

    /// <summary>The newest log entry's id and sequence number (default when the log is empty).</summary>
    internal async Task<(LogId Id, long Sequence)> ReadLatestAsync(string room, CancellationToken cancellationToken)
    {
        var entries = await ReadAsync(
            room,
            async ct => await _redis.GetDatabase().StreamRangeAsync(_keys.Log(room), "-", "+", 1, Order.Descending).WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        if (entries.Length == 0 || !LogId.TryParse(entries[0].Id, out var id))
        {
            return default;
        }

        return (id, (long)entries[0]["s"]);
    }

    public async Task<IAsyncDisposable> SubscribeAsync(string room, Func<ChatEvent, ValueTask> handler, CancellationToken cancellationToken)
    {
        ChannelMessageQueue queue;
        try
        {
            queue = await _redis.GetSubscriber().SubscribeAsync(_keys.Channel(room)).WaitAsync(BusResilience.TotalBound, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            BusFailed("subscribe", room, ex);
            throw new BusUnavailableException("Could not subscribe to the chat; try again.", ex);
        }

        // Where the log stood when the subscription started: anything appended later reaches this instance, by
        // pub/sub or, if pub/sub missed it, from the log.
        (LogId Id, long Sequence) start;
        try
        {
            start = await ReadLatestAsync(room, cancellationToken).ConfigureAwait(false);
        }
        catch (BusUnavailableException)
        {
            await queue.UnsubscribeAsync().ConfigureAwait(false);
            throw;
        }

        var subscription = new RedisRoomSubscription(
            room,
            handler,
            async (after, count, ct) => (await ReadLogAfterAsync(room, after, count, ct).ConfigureAwait(false)).Entries,
            start,
            CatchUpTiming.For(_options.Value.HeartbeatInterval),
            _time,
            _logger,
            () => UnsubscribeAsync(room, queue));
        // The queue form of OnMessage hands messages over one at a time, in order.
        queue.OnMessage(message =>
        {
            try
            {
                var (e, sequence) = EventCodec.DeserializeChannelPayload((string)message.Message!);
                subscription.OnLive(e, sequence);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or OverflowException)
            {
                MalformedMessage(room, ex);
            }
        });
        _subscriptions.TryAdd(subscription, 0);
        subscription.Start(() => _subscriptions.TryRemove(subscription, out _));
        return subscription;
    }

    public async ValueTask DisposeAsync()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
        foreach (var subscription in _subscriptions.Keys)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (_logger.IsEnabled(LogLevel.Warning))
        {
            var endPoint = e.EndPoint?.ToString();
            ConnectionLost(e.ConnectionType, endPoint, e.FailureType, e.Exception);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var endPoint = e.EndPoint?.ToString();
            ConnectionBack(e.ConnectionType, endPoint);
        }

        _metrics.BusReconnected();
        // Pub/sub kept nothing while we were away: every room catches up from the last id it delivered.
        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.OnConnectionRestored();
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
            UnsubscribeFailed(room, ex);
        }
    }

    private bool TryDecode(string room, string id, string? payload, out ChatEvent e)
    {
        try
        {
            e = EventCodec.Deserialize(payload ?? throw new System.Text.Json.JsonException("Log entry has no payload."), id);
            return true;
        }
        catch (System.Text.Json.JsonException ex)
        {
            MalformedPayload(room, ex);
            e = null!;
            return false;
        }
    }

    private Task<T> RunAsync<T>(string operation, string room, Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken) =>
        _pipeline.RunAsync(action, ex =>
        {
            BusFailed(operation, room, ex);
            _metrics.BusFailed(operation);
            return new BusUnavailableException("Not confirmed: the chat server cannot reach its message store right now. Send again in a moment; a message is never posted twice.", ex);
        }, cancellationToken);

    /// <summary>
    /// Log reads have their own pipeline, without the breaker: refused posts must never keep a room from repairing its
    /// gap or a page from resuming.
    /// </summary>
    private Task<T> ReadAsync<T>(string room, Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken) =>
        _reads.RunAsync(action, ex =>
        {
            BusFailed("read", room, ex);
            _metrics.BusFailed("read");
            return new BusUnavailableException("The chat server cannot read its message store right now; try again in a moment.", ex);
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: could not unsubscribe; Redis is not reachable.")]
    private partial void UnsubscribeFailed(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: a pub/sub message could not be decoded and was skipped.")]
    private partial void MalformedMessage(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {Operation} for room {Room} failed.")]
    private partial void BusFailed(string operation, string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: client message id {ClientMessageId} was sent before as {Id}; not appended again.")]
    private partial void DuplicateIgnored(string room, string clientMessageId, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: a log entry could not be decoded and was skipped.")]
    private partial void MalformedPayload(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection to {EndPoint} lost ({FailureType}).")]
    private partial void ConnectionLost(ConnectionType connectionType, string? endPoint, ConnectionFailureType failureType, Exception? exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis {ConnectionType} connection to {EndPoint} restored; rooms catch up from the log.")]
    private partial void ConnectionBack(ConnectionType connectionType, string? endPoint);
}
