using System.Diagnostics;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>Makes the presence fan-out of each room hub, with the services and settings they share.</summary>
internal sealed class PresenceFanOuts(
    IPresence presence, FragmentRenderer renderer, IOptions<ChatOptions> options, ChatMetrics metrics, TimeProvider time, ILogger<PresenceFanOut> logger)
{
    public PresenceFanOut Create(RoomHub hub) =>
        new(hub, presence, renderer, options.Value.PresenceCoalesceWindow, metrics, time, logger);
}

/// <summary>
/// Presence notices of one room on this instance, coalesced before they reach its streams. A change that comes while
/// the room is quiet goes out at once (its notice line and the list); it opens a window of
/// <c>Chat:PresenceCoalesceWindow</c>, and the changes that come within it are gathered and go out together when it
/// ends, as one line ("alice, bob, carol and 97 others joined · dave left") and one list, which opens the next window.
/// So a storm of joins costs each stream about one update per window, whatever its size, and the list is read once per
/// update (the first <c>Chat:PresenceListLimit</c> people, never per notice or per stream).
/// </summary>
/// <remarks>
/// An update's frame carries the highest presence version among its notices, and its list is read after they arrived,
/// so it is at least that new: a stream that already shows that version skips the frame, and the lists a stream shows
/// never go back. Updates are sent one at a time (the next window starts when the last update has gone out), so they
/// reach the streams in the order of their versions.
/// </remarks>
internal sealed partial class PresenceFanOut : IDisposable
{
    private readonly RoomHub _hub;
    private readonly IPresence _presence;
    private readonly FragmentRenderer _renderer;
    private readonly TimeSpan _window;
    private readonly ChatMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<PresenceFanOut> _logger;
    private readonly Lock _gate = new();
    private PresenceChanges _pending = new();
    private bool _windowOpen;
    private bool _disposed;
    private ITimer? _windowEnd;

    public PresenceFanOut(
        RoomHub hub, IPresence presence, FragmentRenderer renderer, TimeSpan window, ChatMetrics metrics, TimeProvider time, ILogger<PresenceFanOut> logger)
    {
        _hub = hub;
        _presence = presence;
        _renderer = renderer;
        _window = window;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>A presence notice of the room (joined, left, a change of names): shown at once, or at the end of the window.</summary>
    public void Add(ChatEvent notice)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _pending.Add(notice);
            if (_windowOpen)
            {
                return; // gathered until the window ends
            }

            _windowOpen = true;
        }

        _ = SendAsync();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _windowEnd?.Dispose();
        }
    }

    private void OnWindowEnd()
    {
        lock (_gate)
        {
            if (_disposed || _pending.IsEmpty)
            {
                _windowOpen = false; // quiet: the next change goes out at once
                return;
            }
        }

        _ = SendAsync();
    }

    /// <summary>Sends what was gathered as one update, which opens the next window.</summary>
    private async Task SendAsync()
    {
        try
        {
            PresenceChanges changes;
            lock (_gate)
            {
                changes = _pending;
                _pending = new PresenceChanges();
            }

            await SendAsync(changes).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // runs on its own (a notice or a timer started it): log, and the next change sends the list again
        catch (Exception ex)
#pragma warning restore CA1031
        {
            UpdateFailed(_hub.Room, ex);
            lock (_gate)
            {
                StartWindow();
            }
        }
    }

    private async Task SendAsync(PresenceChanges changes)
    {
        var started = Stopwatch.GetTimestamp();
        PresenceSnapshot? list = null;
        try
        {
            // Read after the notices arrived, so at least as new as the newest of them.
            list = await _presence.ReadAsync(_hub.Room, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BusUnavailableException)
        {
            // Logged by the store; the line goes out alone and the next update brings the list.
        }

        var html = _renderer.RenderPresenceUpdate(changes.Joined, changes.Left, changes.At, list);
        var bytes = html.Length == 0 ? null : await SseFrames.FragmentAsync(html, null).ConfigureAwait(false);
        lock (_gate)
        {
            // The window opens as the update goes out, never before: updates go out one at a time, in order, and
            // whoever sees an update sees its window open. (The broadcast never waits for a client: it queues the
            // frame, or, in a room under Chat:StreamGatherFrom, writes it into each idle stream's pipe; it is brief.)
            StartWindow();
            if (bytes is not null)
            {
                _hub.Broadcast(new Frame(bytes, null, changes.Version));
            }
        }

        if (bytes is not null)
        {
            _metrics.FannedOut(_hub.ConnectionCount, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Arms the end of the window; called with the gate held.</summary>
    private void StartWindow()
    {
        if (!_disposed)
        {
            _windowEnd ??= _time.CreateTimer(static state => ((PresenceFanOut)state!).OnWindowEnd(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _windowEnd.Change(_window, Timeout.InfiniteTimeSpan);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Room {Room}: a presence update could not be sent; the next change sends the list again.")]
    private partial void UpdateFailed(string room, Exception exception);
}

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
