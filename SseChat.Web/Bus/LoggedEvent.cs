using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>A room-log entry with the room sequence number the append script gave it.</summary>
internal readonly record struct LoggedEvent(ChatEvent Event, long Sequence);
