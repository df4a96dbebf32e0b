namespace SseChat.Web.Chat;

/// <summary>What travels on the bus: a chat message or a presence notice in one room.</summary>
public enum ChatEventKind
{
    Message,
    UserJoined,
    UserLeft,

    /// <summary>Someone in the room changed their name: only the list of people changes, nothing is added to the conversation.</summary>
    PresenceChanged,
}
