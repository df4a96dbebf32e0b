using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Pages;

/// <summary>
/// The room list: the lobby, the room being shown, and the rooms with people in them (from presence), each once.
/// </summary>
public sealed record RoomList(string Current, IReadOnlyList<RoomList.Entry> Entries, bool Unavailable = false)
{
    /// <summary>How many occupied rooms the list names at most.</summary>
    public const int MaxRooms = 30;

    public sealed record Entry(RoomPaths Paths, int People, bool IsCurrent);

    public static RoomList Of(string current, IReadOnlyList<RoomOccupancy> occupied, bool unavailable = false)
    {
        var people = occupied.ToDictionary(r => r.Room, r => r.People, StringComparer.Ordinal);
        var names = new List<string> { ChatOptions.Lobby };
        if (current != ChatOptions.Lobby)
        {
            names.Add(current);
        }

        names.AddRange(occupied.Select(r => r.Room).Where(r => !names.Contains(r)));
        return new RoomList(
            current,
            names.Select(n => new Entry(new RoomPaths(n), people.GetValueOrDefault(n), n == current)).ToArray(),
            unavailable);
    }
}
