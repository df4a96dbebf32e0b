using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Names every Redis key and channel the app uses, all under one prefix. Every key of a room and its channel carry the
/// room as their hash tag (<c>{prefix}:{room}:…</c>): Redis Cluster keeps them in one slot, so one script may touch
/// them all and publish on the room's shard channel. What spans rooms (the rooms index, the Data Protection key ring)
/// has keys of its own that no room's script touches.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    /// <summary>The hash tag of the rooms index: '_' is not allowed in a room name, so no room shares it by name.</summary>
    private const string IndexTag = "{_rooms}";

    /// <summary>The room log: a capped stream whose entry ids are the SSE ids.</summary>
    public RedisKey Log(string room) => Room(room, "log");

    /// <summary>The room's message counter: consecutive numbers let a subscriber see that it missed a message.</summary>
    public RedisKey Sequence(string room) => Room(room, "seq");

    /// <summary>Present while the room refuses new messages (<see cref="IChatBus.RefuseMessagesAsync"/>); it expires.</summary>
    public RedisKey Busy(string room) => Room(room, "busy");

    public RedisKey ClientMessage(string room, string clientMessageId) => Room(room, "cmid:" + clientMessageId);

    /// <summary>
    /// The room's channel, a shard channel (SSUBSCRIBE/SPUBLISH): on a cluster only the shard that owns the room's slot
    /// carries its messages, to the instances subscribed to it, instead of every node relaying every message.
    /// </summary>
    public RedisChannel Channel(string room) => RedisChannel.Sharded(Room(room, "events").ToString());

    /// <summary>Who holds whom in a room: "{instance}|{browser id}" → expiry (Redis time, ms), renewed by the holding instance.</summary>
    public RedisKey PresenceHolds(string room) => Room(room, "presence:holds");

    /// <summary>How many instances hold each person in a room: browser id → count; a person is in the room while it is above 0.</summary>
    public RedisKey PresencePeople(string room) => Room(room, "presence:people");

    /// <summary>How each person in a room is listed: browser id → "{sort key}\n{author tag}\n{"n": nick, "a": author tag}".</summary>
    public RedisKey PresenceMembers(string room) => Room(room, "presence:members");

    /// <summary>The listings of the people in a room, all with score 0, so in display order: the first K are one ZRANGE.</summary>
    public RedisKey PresenceNames(string room) => Room(room, "presence:names");

    /// <summary>The room's presence version, raised by every change (see PresenceSnapshot.Version).</summary>
    public RedisKey PresenceVersion(string room) => Room(room, "presence:version");

    /// <summary>The rooms index: every room with people in it → how many (the room list, and the rooms a sweeper visits).</summary>
    public RedisKey RoomCounts => $"{prefix}:{IndexTag}:counts";

    /// <summary>The rooms index: room → the presence version its count in <see cref="RoomCounts"/> reflects (a late update never wins).</summary>
    public RedisKey RoomVersions => $"{prefix}:{IndexTag}:versions";

    /// <summary>One key (a list) with every Data Protection key: single-key commands only, so any slot will do.</summary>
    public RedisKey DataProtectionKeys => $"{prefix}:dataprotection-keys";

    private RedisKey Room(string room, string what) => $"{prefix}:{{{room}}}:{what}";
}
