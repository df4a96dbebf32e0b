using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>Names every Redis key and channel the app uses, all under one prefix.</summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>The room log: a capped stream whose entry ids are the SSE ids.</summary>
    public RedisKey Log(string room) => $"{prefix}:room:{room}:log";

    /// <summary>The room's message counter: consecutive numbers let a subscriber see that it missed a message.</summary>
    public RedisKey Sequence(string room) => $"{prefix}:room:{room}:seq";

    public RedisKey ClientMessage(string room, string clientMessageId) => $"{prefix}:room:{room}:cmid:{clientMessageId}";

    public RedisChannel Channel(string room) => RedisChannel.Literal($"{prefix}:room:{room}:events");

    public RedisKey DataProtectionKeys => $"{prefix}:dataprotection-keys";
}
