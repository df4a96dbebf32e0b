using System.Diagnostics;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

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
internal sealed class PresenceFanOut : IDisposable
{
    private readonly RoomFanOut _room;
    private readonly IPresence _presence;
    private readonly SseFrames _frames;
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
        RoomFanOut room, IPresence presence, SseFrames frames, TimeSpan window, ChatMetrics metrics, TimeProvider time, ILogger<PresenceFanOut> logger)
    {
        _room = room;
        _presence = presence;
        _frames = frames;
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
            StreamingLog.PresenceUpdateFailed(_logger, _room.Room, ex);
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
            list = await _presence.ReadAsync(_room.Room, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BusUnavailableException)
        {
            // Logged by the store; the line goes out alone and the next update brings the list.
        }

        var frame = _frames.PresenceUpdate(changes, list);
        lock (_gate)
        {
            // The window opens as the update goes out, never before: updates go out one at a time, in order, and
            // whoever sees an update sees its window open. (The broadcast never waits for a client: it queues the
            // frame, or, in a room under Chat:StreamGatherFrom, writes it into each idle stream's pipe; it is brief.)
            StartWindow();
            if (frame is { } update)
            {
                _room.Broadcast(update);
            }
        }

        if (frame is not null)
        {
            _metrics.FannedOut(_room.StreamCount, Stopwatch.GetElapsedTime(started));
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
}
