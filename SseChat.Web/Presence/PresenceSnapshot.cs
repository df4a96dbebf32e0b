namespace SseChat.Web.Presence;

/// <summary>One person in a room, as pages show them: the nickname and the public author tag, never the browser id.</summary>
public sealed record PresentPerson(string Nick, string Author);

/// <summary>
/// Who is in a room at one moment, as a page shows it: how many (<see cref="Count"/>) and the first of them in display
/// order (<see cref="PresenceOrder"/>), at most <c>Chat:PresenceListLimit</c>. <see cref="Version"/> grows with every
/// change of the room's presence (across instances), so a stream can tell a notice it already reflects from a newer one.
/// </summary>
public sealed record PresenceSnapshot(long Version, int Count, IReadOnlyList<PresentPerson> People)
{
    public static PresenceSnapshot Empty { get; } = new(0, 0, []);

    /// <summary>People in the room who are not in <see cref="People"/> (the list shows "and N more").</summary>
    public int More => Math.Max(0, Count - People.Count);
}

/// <summary>What a presence notice carries besides the person: the room's version and head count right after the change.</summary>
public sealed record PresenceStamp(long Version, int Count);

/// <summary>
/// The display order of a room's people: by nickname ignoring case, then by tag, comparing by Unicode code point —
/// the order in which Redis keeps them (byte order of UTF-8, see <see cref="SortKey"/>), so both stores list the same
/// first people.
/// </summary>
public static class PresenceOrder
{
    /// <summary>What a person is sorted by: the nickname in upper case (nicknames hold no control characters, so a
    /// separator below the space keeps "ann" before "ann b").</summary>
    public static string SortKey(string nick) => nick.ToUpperInvariant();

    /// <summary>Orders (sort key, tag) pairs by code point, as Redis orders their UTF-8 bytes.</summary>
    public static int Compare(string sortKeyA, string authorA, string sortKeyB, string authorB)
    {
        var byName = CompareCodePoints(sortKeyA, sortKeyB);
        return byName != 0 ? byName : string.CompareOrdinal(authorA, authorB);
    }

    private static int CompareCodePoints(string a, string b)
    {
        var x = a.EnumerateRunes();
        var y = b.EnumerateRunes();
        while (true)
        {
            var moreX = x.MoveNext();
            var moreY = y.MoveNext();
            if (!moreX || !moreY)
            {
                return moreX.CompareTo(moreY);
            }

            var c = x.Current.Value.CompareTo(y.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }
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
