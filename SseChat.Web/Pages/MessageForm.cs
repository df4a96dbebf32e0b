using SseChat.Web.Chat;

namespace SseChat.Web.Pages;

/// <summary>
/// What the message form shows: the text to keep (after an error), a fresh client message id, the error, and the room
/// it posts to.
/// </summary>
public sealed record MessageForm(string? Text, string ClientMessageId, string? Error, RoomPaths Paths)
{
    public static MessageForm Fresh(RoomPaths paths) => new(null, Chat.ClientMessageId.New(), null, paths);
}
