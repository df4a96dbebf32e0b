using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// The presence notices gathered in one window, reduced to what a reader needs: who is in now and was not before
/// (joined), who was in and is not now (left), in the order they first came; someone who joined and left again within
/// the window is neither. O(1) per notice.
/// </summary>
internal sealed class PresenceChanges
{
    private readonly Dictionary<string, Change> _byPerson = new(StringComparer.Ordinal);
    private readonly List<Change> _order = [];
    private int _notices;

    public bool IsEmpty => _notices == 0;

    /// <summary>The highest presence version among the notices (null when none carried one).</summary>
    public long? Version { get; private set; }

    /// <summary>When the last change happened.</summary>
    public DateTimeOffset At { get; private set; } = DateTimeOffset.MinValue;

    public IReadOnlyList<PresentPerson> Joined => Net(ChatEventKind.UserJoined);

    public IReadOnlyList<PresentPerson> Left => Net(ChatEventKind.UserLeft);

    public void Add(ChatEvent notice)
    {
        _notices++;
        if (notice.Presence is { } stamp && (Version is null || stamp.Version > Version))
        {
            Version = stamp.Version;
        }

        if (notice.Timestamp > At)
        {
            At = notice.Timestamp;
        }

        var person = new PresentPerson(notice.Nick, notice.Author ?? "");
        var key = string.IsNullOrEmpty(person.Author) ? "nick:" + person.Nick : person.Author;
        var comesOrGoes = notice.Kind is ChatEventKind.UserJoined or ChatEventKind.UserLeft;
        if (_byPerson.TryGetValue(key, out var change))
        {
            change.Person = person; // the latest name (a change of names only renames)
            if (comesOrGoes)
            {
                change.Last = notice.Kind;
            }
        }
        else if (comesOrGoes)
        {
            change = new Change(person, notice.Kind);
            _byPerson.Add(key, change);
            _order.Add(change);
        }
    }

    // A person's comings and goings alternate (the store announces each once), so the first and the last tell the net.
    private PresentPerson[] Net(ChatEventKind kind) =>
        _order.Where(c => c.First == kind && c.Last == kind).Select(c => c.Person).ToArray();

    private sealed class Change(PresentPerson person, ChatEventKind first)
    {
        public PresentPerson Person { get; set; } = person;

        public ChatEventKind First { get; } = first;

        public ChatEventKind Last { get; set; } = first;
    }
}
