namespace SseChat.Web.Presence;

/// <summary>One person in a room, as pages show them: the nickname and the public author tag, never the browser id.</summary>
public sealed record PresentPerson(string Nick, string Author);

/// <summary>
/// Who is in a room at one moment. <see cref="Version"/> grows with every change of the room's presence (across
/// instances), so a stream can tell a notice it already reflects from a newer one.
/// </summary>
public sealed record PresenceSnapshot(long Version, IReadOnlyList<PresentPerson> People)
{
    public static PresenceSnapshot Empty { get; } = new(0, []);

    /// <summary>The people in display order: by nickname, then tag (so equal nicknames keep a stable order).</summary>
    public IEnumerable<PresentPerson> Ordered =>
        People.OrderBy(p => p.Nick, StringComparer.OrdinalIgnoreCase).ThenBy(p => p.Author, StringComparer.Ordinal);
}

/// <summary>A room with people in it, for the room list.</summary>
public sealed record RoomOccupancy(string Room, int People);

/// <summary>The person behind a stream: the browser id (what presence counts), the nickname and the public tag.</summary>
public sealed record Member(string Id, string Nick, string Author)
{
    /// <summary>
    /// The member a request speaks for. A client without the cookies (curl, a test) is a new guest for this one
    /// stream; pages always set them first.
    /// </summary>
    public static Member From(HttpRequest request)
    {
        var id = Chat.BrowserId.Read(request) ?? Chat.BrowserId.New();
        return new Member(id, Chat.Nickname.Read(request) ?? Chat.Nickname.NewGuest(), Chat.BrowserId.AuthorTag(id));
    }
}
