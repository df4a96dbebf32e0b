using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Presence;

/// <summary>
/// Presence for the single instance of the embedded mode: the people of each room in memory. Holds never expire (the
/// one instance that could die is this one, and with it everyone it would tell), so renewing and sweeping do nothing.
/// A notice is published under the same lock as the change it reports, so notices go out in the order of the changes.
/// </summary>
internal sealed class InProcessPresenceStore(InProcessChatBus bus, TimeProvider time) : IPresenceStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, PresentPerson>> _rooms = new(StringComparer.Ordinal);

    // One counter for all rooms: versions only need to grow within a room, and this one never starts again.
    private long _version;

    public Task<PresenceEntry> HoldAsync(string room, Member member, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var people))
            {
                people = new Dictionary<string, PresentPerson>(StringComparer.Ordinal);
                _rooms.Add(room, people);
            }

            var person = new PresentPerson(member.Nick, member.Author);
            if (people.TryGetValue(member.Id, out var known))
            {
                if (known != person)
                {
                    Change(ChatEventKind.PresenceChanged, room, people, member.Id, person);
                }

                return Task.FromResult(new PresenceEntry(Snapshot(people), Announced: false));
            }

            return Task.FromResult(new PresenceEntry(Change(ChatEventKind.UserJoined, room, people, member.Id, person), Announced: true));
        }
    }

    public Task RenameAsync(string room, Member member, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var person = new PresentPerson(member.Nick, member.Author);
            if (_rooms.TryGetValue(room, out var people) && people.TryGetValue(member.Id, out var known) && known != person)
            {
                Change(ChatEventKind.PresenceChanged, room, people, member.Id, person);
            }
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string room, Member member, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_rooms.TryGetValue(room, out var people) && people.Remove(member.Id, out var person))
            {
                _version++;
                bus.PublishNotice(Notice(ChatEventKind.UserLeft, room, person, Snapshot(people)));
                if (people.Count == 0)
                {
                    _rooms.Remove(room);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> RenewAsync(string room, IReadOnlyCollection<Member> members, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<int> SweepAsync(CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(room, out var people) ? Snapshot(people) : new PresenceSnapshot(_version, []));
        }
    }

    public Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<RoomOccupancy>>(_rooms
                .Select(r => new RoomOccupancy(r.Key, r.Value.Count))
                .OrderByDescending(r => r.People).ThenBy(r => r.Room, StringComparer.Ordinal)
                .Take(max)
                .ToArray());
        }
    }

    /// <summary>Stores the person, raises the version and publishes the notice; called under the lock.</summary>
    private PresenceSnapshot Change(ChatEventKind kind, string room, Dictionary<string, PresentPerson> people, string id, PresentPerson person)
    {
        people[id] = person;
        _version++;
        var snapshot = Snapshot(people);
        bus.PublishNotice(Notice(kind, room, person, snapshot));
        return snapshot;
    }

    private PresenceSnapshot Snapshot(Dictionary<string, PresentPerson> people) => new(_version, people.Values.ToArray());

    private ChatEvent Notice(ChatEventKind kind, string room, PresentPerson person, PresenceSnapshot snapshot) =>
        new(kind, room, person.Nick, "", time.GetUtcNow(), Author: person.Author, Presence: snapshot);
}
