namespace SseChat.Web.Presence;

/// <summary>
/// Who is in which room, across all instances. A person is a browser (<see cref="Member.Id"/>), not a nickname:
/// several tabs, on any instances, count once. The first stream of a person in a room announces "joined" to the room,
/// the end of the last one (after <c>Chat:PresenceLeaveGrace</c>) "left"; every notice carries the room's list of
/// people after the change. One implementation (<see cref="PresenceTracker"/>) over two stores, Redis and in-process,
/// as with the bus: everything above this interface is the same code in both modes.
/// </summary>
public interface IPresence
{
    /// <summary>
    /// A stream of <paramref name="member"/> opened in <paramref name="room"/> on this instance. Returns who is in the
    /// room now (null when the store could not be reached: the person is taken in later, when it can) and whether this
    /// call announced "joined". Throws <see cref="OperationCanceledException"/> only before anything changed; once it
    /// has returned, <see cref="LeaveAsync"/> must follow when the stream ends.
    /// </summary>
    Task<PresenceEntry> EnterAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>The stream that <see cref="EnterAsync"/> counted has ended.</summary>
    Task LeaveAsync(string room, Member member);

    /// <summary>The person chose another name: the room's list of people shows it at once, on every instance.</summary>
    Task RenameAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>Who is in the room now.</summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached.</exception>
    Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken);

    /// <summary>The rooms with people in them, fullest first, at most <paramref name="max"/>.</summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached.</exception>
    Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken);
}

/// <param name="Snapshot">Who is in the room right after entering; null when the store could not be reached.</param>
/// <param name="Announced">True when this entry announced "joined" (the person's first stream anywhere): the notice,
/// carrying <paramref name="Snapshot"/>, is on its way to every stream of the room, this one included.</param>
public readonly record struct PresenceEntry(PresenceSnapshot? Snapshot, bool Announced);
