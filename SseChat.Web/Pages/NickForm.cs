namespace SseChat.Web.Pages;

/// <summary>What the nickname form shows, and the room a plain (non-htmx) post returns to.</summary>
public sealed record NickForm(string? Nick, string? Error, string Room);
