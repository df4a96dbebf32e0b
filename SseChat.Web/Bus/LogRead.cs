using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <param name="Events">The messages found, oldest first.</param>
/// <param name="Truncated">True when the log no longer holds every message after the requested id.</param>
public sealed record LogRead(IReadOnlyList<ChatEvent> Events, bool Truncated);
