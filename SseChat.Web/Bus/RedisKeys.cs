using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>Names every Redis key and channel the app uses, all under one prefix.</summary>
internal sealed class RedisKeys(string prefix)
{
    public RedisKey Log(string room) => $"{prefix}:room:{room}:log";

    public RedisKey ClientMessage(string room, string clientMessageId) => $"{prefix}:room:{room}:cmid:{clientMessageId}";

    public RedisChannel Channel(string room) => RedisChannel.Literal($"{prefix}:room:{room}:events");

    public RedisKey DataProtectionKeys => $"{prefix}:dataprotection-keys";
}
