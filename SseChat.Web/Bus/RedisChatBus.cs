using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using SseChat.Web.Chat;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Scale-out bus. A message is appended to the room's capped Redis Stream and published on the room's channel
/// by one Lua script, so log order and delivery order agree and the stream id is the SSE id on every instance.
/// Each instance holds one subscription per room and fans it out locally.
/// </summary>
internal sealed partial class RedisChatBus : IChatBus
{
    // KEYS: log stream, client-message-id key. A repeated client id returns the first append's id and publishes nothing.
    private static readonly LuaScript AppendAndPublish = LuaScript.Prepare("""
        local existing = redis.call('GET', @clientKey)
        if existing then return {0, existing} end
        local id = redis.call('XADD', @logKey, 'MAXLEN', '~', @maxLength, '*', 'e', @payload)
        redis.call('SET', @clientKey, id, 'EX', @dedupeSeconds)
        redis.call('PUBLISH', @channel, id .. '\n' .. @payload)
        return {1, id}
        """);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ResiliencePipeline _publish;
    private readonly IOptions<ChatOptions> _options;
    private readonly ILogger<RedisChatBus> _logger;

    public RedisChatBus(
        IConnectionMultiplexer redis,
        RedisKeys keys,
        ResiliencePipelineProvider<string> pipelines,
        IOptions<ChatOptions> options,
        ILogger<RedisChatBus> logger)
    {
        _redis = redis;
        _keys = keys;
        _publish = pipelines.GetPipeline(BusResilience.PublishPipeline);
        _options = options;
        _logger = logger;
    }

    public async Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken)
    {
        var clientId = message.ClientMessageId ?? throw new ArgumentException("A message needs a client message id.", nameof(message));
        var payload = EventCodec.Serialize(message);
        var options = _options.Value;
        var args = new
        {
            clientKey = _keys.ClientMessage(message.Room, clientId),
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

    public async Task PublishNoticeAsync(ChatEvent notice, CancellationToken cancellationToken)
    {
        var payload = "\n" + EventCodec.Serialize(notice);
        await RunAsync(
            "publish",
            notice.Room,
            async ct => await _redis.GetSubscriber().PublishAsync(_keys.Channel(notice.Room), payload).WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return [];
        }

        var entries = await RunAsync(
            "read",
            room,
            async ct => await _redis.GetDatabase()
                .StreamRangeAsync(_keys.Log(room), "-", "+", count, Order.Descending)
                .WaitAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

        var events = new List<ChatEvent>(entries.Length);
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            if (TryDecode(room, entries[i], out var e))
            {
                events.Add(e);
            }
        }

        return events;
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

        // The queue form delivers in order, one message at a time (the handler form may run concurrently).
        queue.OnMessage(async message =>
        {
            ChatEvent e;
            try
            {
                e = EventCodec.DeserializeChannelPayload((string)message.Message!);
            }
            catch (System.Text.Json.JsonException ex)
            {
                MalformedPayload(room, ex);
                return;
            }

            try
            {
                await handler(e).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a failing handler is logged, never thrown into the subscription loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                HandlerFailed(room, ex);
            }
        });

        return new Subscription(queue);
    }

    private bool TryDecode(string room, StreamEntry entry, out ChatEvent e)
    {
        try
        {
            e = EventCodec.Deserialize((string)entry["e"]!, entry.Id!);
            return true;
        }
        catch (System.Text.Json.JsonException ex)
        {
            MalformedPayload(room, ex);
            e = null!;
            return false;
        }
    }

    private async Task<T> RunAsync<T>(string operation, string room, Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await _publish.ExecuteAsync(action, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (BusResilience.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            BusFailed(operation, room, ex);
            throw new BusUnavailableException("The chat server could not reach its message store; nothing was sent. Try again.", ex);
        }
    }

    private sealed class Subscription(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {Operation} for room {Room} failed.")]
    private partial void BusFailed(string operation, string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: client message id {ClientMessageId} was sent before as {Id}; not appended again.")]
    private partial void DuplicateIgnored(string room, string clientMessageId, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: an event payload could not be decoded and was skipped.")]
    private partial void MalformedPayload(string room, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: the subscriber failed on an event.")]
    private partial void HandlerFailed(string room, Exception exception);
}
