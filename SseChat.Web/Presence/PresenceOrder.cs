namespace SseChat.Web.Presence;

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
