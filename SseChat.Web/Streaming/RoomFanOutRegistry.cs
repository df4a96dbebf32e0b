using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>
/// The rooms this instance has streams in, reference-counted: a room's <see cref="RoomFanOut"/> (and its bus
/// subscription) exists while streams use it, and for <see cref="IdleLifetime"/> after the last one ended, so a reload
/// or a reconnect does not resubscribe; then it is dropped. Anyone can name a room, so rooms once visited must not cost
/// a subscription for the life of the process.
/// </summary>
internal sealed class RoomFanOutRegistry(
    IChatBus bus,
    SseFrames frames,
    ChatMetrics metrics,
    PresenceFanOutFactory presenceFanOuts,
    IOptions<ChatOptions> options,
    TimeProvider time,
    ILogger<RoomFanOutRegistry> logger)
    : IDeliveryLag, IAsyncDisposable
{
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _rooms = new(StringComparer.Ordinal);

    /// <summary>The room's fan-out, kept until the matching <see cref="Release"/>.</summary>
    public RoomFanOut Acquire(string room)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var entry))
            {
                var flushing = new FlushPolicy(options.Value.StreamFlushDelay, options.Value.StreamGatherFrom);
                entry = new Entry(new RoomFanOut(room, bus, frames, metrics, presenceFanOuts, flushing, time));
                _rooms.Add(room, entry);
            }

            entry.Users++;
            entry.IdleTimer?.Dispose();
            entry.IdleTimer = null;
            return entry.FanOut;
        }
    }

    public bool IsBehind(string room, TimeSpan bound)
    {
        RoomFanOut? fanOut;
        lock (_gate)
        {
            fanOut = _rooms.TryGetValue(room, out var entry) ? entry.FanOut : null;
        }

        return fanOut?.IsBehind(bound, CutWindow(bound)) ?? false;
    }

    // How long slow-reader cuts count: a cut stream's client is back after the reconnect delay, and caught up within the
    // bound if the room is not.
    private TimeSpan CutWindow(TimeSpan bound) => options.Value.ReconnectDelay + bound;

    /// <summary>
    /// A stream of the room was cut here for a full queue (see <see cref="RoomFanOut.NoteSlowReaderCut"/>). When that
    /// makes the room behind, the room refuses new messages on every instance (<see cref="IChatBus.RefuseMessagesAsync"/>)
    /// for <c>Chat:ReconnectDelay</c> plus <c>Chat:MaxDeliveryLag</c>: its cut readers are back and caught up by
    /// then, unless more are cut, which extends it. Posts are spread over the instances, and every instance's posts
    /// advance the log the cut clients resume from; refusing them here alone would not keep those clients in the log.
    /// </summary>
    public async Task NoteSlowReaderCutAsync(RoomFanOut fanOut)
    {
        var bound = options.Value.MaxDeliveryLag;
        var window = CutWindow(bound);
        if (bound <= TimeSpan.Zero || !fanOut.NoteSlowReaderCut(window))
        {
            return;
        }

        try
        {
            await bus.RefuseMessagesAsync(fanOut.Room, window, CancellationToken.None).ConfigureAwait(false);
            metrics.RoomPaused(recorded: true);
            StreamingLog.RoomPaused(logger, fanOut.Room, window);
        }
        catch (BusUnavailableException ex)
        {
            // This instance still refuses the room's posts (IsBehind); the others go on until their own readers are cut.
            metrics.RoomPaused(recorded: false);
            StreamingLog.RoomPauseFailed(logger, fanOut.Room, ex);
        }
    }

    /// <summary>A stream is done with the room; the last one starts its idle countdown.</summary>
    public void Release(RoomFanOut fanOut)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(fanOut.Room, out var entry) || entry.FanOut != fanOut || --entry.Users > 0)
            {
                return;
            }

            entry.IdleTimer = time.CreateTimer(
                static state =>
                {
                    var (registry, idle) = ((RoomFanOutRegistry, Entry))state!;
                    registry.Evict(idle);
                },
                (this, entry),
                IdleLifetime,
                Timeout.InfiniteTimeSpan);
        }
    }

    public IReadOnlyList<RoomFanOut> All
    {
        get
        {
            lock (_gate)
            {
                return _rooms.Values.Select(e => e.FanOut).ToArray();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Entry[] entries;
        lock (_gate)
        {
            entries = [.. _rooms.Values];
            _rooms.Clear();
        }

        foreach (var entry in entries)
        {
            entry.IdleTimer?.Dispose();
            await entry.FanOut.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Evict(Entry entry)
    {
        lock (_gate)
        {
            // A stream came back meanwhile, or the room is gone already: nothing to drop.
            if (entry.Users > 0 || !_rooms.TryGetValue(entry.FanOut.Room, out var current) || current != entry)
            {
                return;
            }

            _rooms.Remove(entry.FanOut.Room);
            entry.IdleTimer?.Dispose();
        }

        _ = DisposeQuietlyAsync(entry.FanOut);
    }

    private async Task DisposeQuietlyAsync(RoomFanOut fanOut)
    {
        try
        {
            await fanOut.DisposeAsync().ConfigureAwait(false);
            StreamingLog.RoomDropped(logger, fanOut.Room);
        }
#pragma warning disable CA1031 // a timer callback has no caller: an unsubscribe that fails is logged, not thrown
        catch (Exception ex)
#pragma warning restore CA1031
        {
            StreamingLog.RoomDropFailed(logger, fanOut.Room, ex);
        }
    }

    private sealed class Entry(RoomFanOut fanOut)
    {
        public RoomFanOut FanOut { get; } = fanOut;

        public int Users { get; set; }

        public ITimer? IdleTimer { get; set; }
    }
}
