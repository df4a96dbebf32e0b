namespace SseChat.Web.Presence;

/// <summary>What a presence notice carries besides the person: the room's version and head count right after the change.</summary>
public sealed record PresenceStamp(long Version, int Count);
