namespace SseChat.Web.Presence;

/// <summary>
/// Who is in which room, across all instances. A person is a browser (<see cref="Member.Id"/>), not a nickname:
/// several tabs, on any instances, count once. The first stream of a person in a room announces "joined" to the room,
/// the end of the last one (after <c>Chat:PresenceLeaveGrace</c>) "left"; every notice carries the room's version and
/// head count after the change (never the list: each instance reads the first people once per coalescing window, see
/// <c>Streaming.PresenceFanOut</c>). One implementation (<see cref="PresenceTracker"/>) over two stores, Redis and in-process,
/// as with the bus: everything above this interface is the same code in both modes.
/// </summary>
public interface IPresence
{
    /// <summary>
    /// A stream of <paramref name="member"/> opened in <paramref name="room"/> on this instance. Returns whether this
    /// call announced "joined", the room's presence version after it, and, when it did not announce, who is in the room
    /// now (the first <c>Chat:PresenceListLimit</c>); the default when the store could not be reached (the person is
    /// taken in later, when it can). Throws <see cref="OperationCanceledException"/> only before anything changed; once it
    /// has returned, <see cref="LeaveAsync"/> must follow when the stream ends.
    /// </summary>
    Task<PresenceEntry> EnterAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>The stream that <see cref="EnterAsync"/> counted has ended.</summary>
    Task LeaveAsync(string room, Member member);

    /// <summary>The person chose another name: the room's list of people shows it at once, on every instance.</summary>
    Task RenameAsync(string room, Member member, CancellationToken cancellationToken);

    /// <summary>Who is in the room now: the head count and the first <c>Chat:PresenceListLimit</c> people, in display order.</summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached.</exception>
    Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken);

    /// <summary>The rooms with people in them, fullest first, at most <paramref name="max"/>.</summary>
    /// <exception cref="Bus.BusUnavailableException">the store cannot be reached.</exception>
    Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken);
}
