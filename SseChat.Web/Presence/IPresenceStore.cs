namespace SseChat.Web.Presence;

/// <summary>
/// Where presence lives and who announces its changes: Redis across instances, or memory in a single one. An instance
/// "holds" a person in a room while it has at least one of their streams there (the <see cref="PresenceTracker"/>
/// counts the streams); a person is in the room while any instance holds them. Every change that makes someone
/// appear or disappear is announced exactly once, by the store, with the room's version and head count after it. No
/// operation costs in proportion to the room's size: lists are read bounded by <c>Chat:PresenceListLimit</c>.
/// </summary>
internal interface IPresenceStore
{
    /// <summary>
    /// This instance holds <paramref name="member"/> in the room now (again: it is idempotent); announces "joined" when
    /// no instance did, and the new name when the person was there under another one.
    /// </summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached; nothing changed.</exception>
    Task<PresenceEntry> HoldAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>
    /// The person chose another name: when they are in the room (held by any instance), the new name is stored and
    /// announced to the room as a change of the list of people.
    /// </summary>
    Task RenameAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>This instance no longer holds <paramref name="member"/>; announces "left" when no instance does.</summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached (the hold then expires by itself).</exception>
    Task ReleaseAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps this instance's holds in the room from expiring, and takes again any that expired or were never taken
    /// (the store was unreachable), announcing "joined" for people who had gone. Returns how many it announced. It
    /// never overwrites a stored name (another instance may have stored a newer one).
    /// </summary>
    Task<int> RenewAsync(string room, IReadOnlyCollection<Member> members, CancellationToken cancellationToken);

    /// <summary>
    /// Drops every instance's expired holds (an instance that died, or stalled past the expiry) and announces "left"
    /// for people no instance holds any more; however many instances sweep at once, each person is announced once.
    /// Visits every room with people in it, and <paramref name="heldHere"/> (the rooms this instance holds people in)
    /// too, so it also puts right a room list that missed a change. Returns how many this call announced.
    /// </summary>
    Task<int> SweepAsync(IReadOnlyCollection<string> heldHere, CancellationToken cancellationToken);

    Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken);

    Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken);
}
