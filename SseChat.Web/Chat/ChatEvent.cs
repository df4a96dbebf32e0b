namespace SseChat.Web.Chat;

/// <summary>What travels on the bus: a chat message or a presence notice in one room.</summary>
public enum ChatEventKind
{
    Message,
    UserJoined,
    UserLeft,
}

/// <param name="Id">The room-log id of a message (also its SSE <c>id:</c>); null for presence notices, which are not logged.</param>
/// <param name="ClientMessageId">The id the sender's form carried, used to recognise a repeated POST.</param>
public sealed record ChatEvent(
    ChatEventKind Kind,
    string Room,
    string Nick,
    string Text,
    DateTimeOffset Timestamp,
    string? Id = null,
    string? ClientMessageId = null)
{
    public ChatEvent WithId(string id) => this with { Id = id };
}
