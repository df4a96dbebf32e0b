using SseChat.Web.Chat;

namespace SseChat.Web.Pages;

/// <summary>What the message form shows: the text to keep (after an error), a fresh client message id, the error.</summary>
public sealed record MessageForm(string? Text, string ClientMessageId, string? Error)
{
    public static MessageForm Fresh() => new(null, Chat.ClientMessageId.New(), null);
}

/// <summary>What the nickname form shows.</summary>
public sealed record NickForm(string? Nick, string? Error);
