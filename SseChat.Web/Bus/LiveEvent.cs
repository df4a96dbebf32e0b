using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>A message or notice from pub/sub with its sequence number in the room (0 for notices).</summary>
internal readonly record struct LiveEvent(ChatEvent Event, long Sequence);
