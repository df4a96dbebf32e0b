namespace SseChat.Web.Presence;

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
