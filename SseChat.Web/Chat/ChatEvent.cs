using SseChat.Web.Bus;
using SseChat.Web.Presence;

namespace SseChat.Web.Chat;

/// <param name="Id">The room-log id of a message (also its SSE <c>id:</c>); null for presence notices, which are not logged.</param>
/// <param name="ClientMessageId">The id the sender's form carried, used to recognise a repeated POST.</param>
/// <param name="Author">The sender's (or the person's, for a notice) public tag, <see cref="BrowserId.AuthorTag"/>; lets a page mark its own.</param>
/// <param name="Presence">On a presence notice: the room's presence version and head count right after this change,
/// everywhere. A notice never carries the list of people: streams get that once per coalescing window (see
/// Streaming.PresenceFanOut).</param>
public sealed record ChatEvent(
    ChatEventKind Kind,
    string Room,
    string Nick,
    string Text,
    DateTimeOffset Timestamp,
    LogId? Id = null,
    string? ClientMessageId = null,
    string? Author = null,
    PresenceStamp? Presence = null)
{
    public ChatEvent WithId(LogId id) => this with { Id = id };
}
