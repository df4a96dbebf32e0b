using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Presence;

/// <summary>
/// Presence for the single instance of the embedded mode: the people of each room in memory, by browser id and in
/// display order (so the first K are read in O(K), as from Redis). Holds never expire (the one instance that could die
/// is this one, and with it everyone it would tell), so renewing and sweeping do nothing. A notice is published through
/// the bus under the same gate as the change it reports, so notices go out in the order of the changes.
/// </summary>
internal sealed class InProcessPresenceStore(IChatBus bus, IOptions<ChatOptions> options, TimeProvider time) : IPresenceStore, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, RoomPeople> _rooms = new(StringComparer.Ordinal);

    // One counter for all rooms: versions only need to grow within a room, and this one never starts again.
    private long _version;

    public async Task<PresenceEntry> HoldAsync(string room, Member member, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_rooms.TryGetValue(room, out var people))
            {
                people = new RoomPeople();
                _rooms.Add(room, people);
            }

            var person = new PresentPerson(member.Nick, member.Author);
            if (people.TryGet(member.Id, out var known))
            {
                if (known != person)
                {
                    await ChangeAsync(ChatEventKind.PresenceChanged, room, people, member.Id, person).ConfigureAwait(false);
                }

                return new PresenceEntry(Announced: false, _version, Snapshot(people));
            }

            await ChangeAsync(ChatEventKind.UserJoined, room, people, member.Id, person).ConfigureAwait(false);
            return new PresenceEntry(Announced: true, _version, Snapshot: null);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RenameAsync(string room, Member member, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var person = new PresentPerson(member.Nick, member.Author);
            if (_rooms.TryGetValue(room, out var people) && people.TryGet(member.Id, out var known) && known != person)
            {
                await ChangeAsync(ChatEventKind.PresenceChanged, room, people, member.Id, person).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ReleaseAsync(string room, Member member, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_rooms.TryGetValue(room, out var people) && people.Remove(member.Id, out var person))
            {
                _version++;
                await bus.PublishNoticeAsync(Notice(ChatEventKind.UserLeft, room, person, people), CancellationToken.None).ConfigureAwait(false);
                if (people.Count == 0)
                {
                    _rooms.Remove(room);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<int> RenewAsync(string room, IReadOnlyCollection<Member> members, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<int> SweepAsync(IReadOnlyCollection<string> heldHere, CancellationToken cancellationToken) => Task.FromResult(0);

    public async Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _rooms.TryGetValue(room, out var people) ? Snapshot(people) : PresenceSnapshot.Empty with { Version = _version };
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _rooms
                .Select(r => new RoomOccupancy(r.Key, r.Value.Count))
                .OrderByDescending(r => r.People).ThenBy(r => r.Room, StringComparer.Ordinal)
                .Take(max)
                .ToArray();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>Stores the person, raises the version and publishes the notice; called with the gate held.</summary>
    private ValueTask ChangeAsync(ChatEventKind kind, string room, RoomPeople people, string id, PresentPerson person)
    {
        people.Set(id, person);
        _version++;
        return bus.PublishNoticeAsync(Notice(kind, room, person, people), CancellationToken.None);
    }

    /// <summary>The head count and the first people in display order: O(limit), whatever the room's size.</summary>
    private PresenceSnapshot Snapshot(RoomPeople people) => new(_version, people.Count, people.First(options.Value.PresenceListLimit));

    private ChatEvent Notice(ChatEventKind kind, string room, PresentPerson person, RoomPeople people) =>
        new(kind, room, person.Nick, "", time.GetUtcNow(), Author: person.Author, Presence: new PresenceStamp(_version, people.Count));

    /// <summary>The people of one room, by browser id and in display order.</summary>
    private sealed class RoomPeople
    {
        private readonly Dictionary<string, Listed> _byId = new(StringComparer.Ordinal);
        private readonly SortedSet<Listed> _ordered = new(Comparer<Listed>.Create(static (x, y) =>
        {
            var c = PresenceOrder.Compare(x.SortKey, x.Person.Author, y.SortKey, y.Person.Author);
            return c != 0 ? c : string.CompareOrdinal(x.Id, y.Id);
        }));

        public int Count => _byId.Count;

        public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PresentPerson? person)
        {
            person = _byId.TryGetValue(id, out var listed) ? listed.Person : null;
            return person is not null;
        }

        public void Set(string id, PresentPerson person)
        {
            Remove(id, out _);
            var listed = new Listed(id, PresenceOrder.SortKey(person.Nick), person);
            _byId.Add(id, listed);
            _ordered.Add(listed);
        }

        public bool Remove(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PresentPerson? person)
        {
            if (!_byId.Remove(id, out var listed))
            {
                person = null;
                return false;
            }

            _ordered.Remove(listed);
            person = listed.Person;
            return true;
        }

        public PresentPerson[] First(int limit) => _ordered.Take(limit).Select(l => l.Person).ToArray();

        private sealed record Listed(string Id, string SortKey, PresentPerson Person);
    }
}
