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

    /// <summary>Who holds whom in a room: "{instance}|{browser id}" → expiry (Redis time, ms), renewed by the holding instance.</summary>
    public RedisKey PresenceHolds(string room) => $"{prefix}:room:{room}:presence:holds";

    /// <summary>How many instances hold each person in a room: browser id → count; a person is in the room while it is above 0.</summary>
    public RedisKey PresencePeople(string room) => $"{prefix}:room:{room}:presence:people";

    /// <summary>How each person in a room is listed: browser id → "{sort key}\n{author tag}\n{"n": nick, "a": author tag}".</summary>
    public RedisKey PresenceMembers(string room) => $"{prefix}:room:{room}:presence:members";

    /// <summary>The listings of the people in a room, all with score 0, so in display order: the first K are one ZRANGE.</summary>
    public RedisKey PresenceNames(string room) => $"{prefix}:room:{room}:presence:names";

    /// <summary>The room's presence version, raised by every change (see PresenceSnapshot.Version).</summary>
    public RedisKey PresenceVersion(string room) => $"{prefix}:room:{room}:presence:version";

    /// <summary>Every room with people in it → how many: the room list, and the rooms a sweeper looks at.</summary>
    public RedisKey PresenceRooms => $"{prefix}:presence:rooms";

    public RedisKey DataProtectionKeys => $"{prefix}:dataprotection-keys";
}
