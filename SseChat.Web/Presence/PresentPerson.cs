namespace SseChat.Web.Presence;

/// <summary>One person in a room, as pages show them: the nickname and the public author tag, never the browser id.</summary>
public sealed record PresentPerson(string Nick, string Author);
