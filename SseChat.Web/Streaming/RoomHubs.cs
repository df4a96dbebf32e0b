using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>
/// The rooms this instance has streams for. A hub (and its bus subscription) exists while streams use it, and for
/// <see cref="IdleLifetime"/> after the last one ended, so a reload or a reconnect does not resubscribe; then it is
/// dropped. Anyone can name a room, so rooms once visited must not cost a subscription for the life of the process.
/// </summary>
internal sealed partial class RoomHubs(
    IChatBus bus,
    FragmentRenderer renderer,
    ChatMetrics metrics,
    PresenceFanOuts presenceFanOuts,
    IOptions<ChatOptions> options,
    TimeProvider time,
    ILogger<RoomHubs> logger)
    : IAsyncDisposable
{
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _hubs = new(StringComparer.Ordinal);

    /// <summary>The room's hub, kept until the matching <see cref="Release"/>.</summary>
    public RoomHub Acquire(string room)
    {
        lock (_gate)
        {
            if (!_hubs.TryGetValue(room, out var entry))
            {
                entry = new Entry(new RoomHub(room, bus, renderer, metrics, presenceFanOuts, new StreamFlushing(options.Value.StreamFlushDelay, options.Value.StreamGatherFrom), time));
                _hubs.Add(room, entry);
            }

            entry.Users++;
            entry.IdleTimer?.Dispose();
            entry.IdleTimer = null;
            return entry.Hub;
        }
    }

    /// <summary>A stream is done with the hub; the last one starts its idle countdown.</summary>
    public void Release(RoomHub hub)
    {
        lock (_gate)
        {
            if (!_hubs.TryGetValue(hub.Room, out var entry) || entry.Hub != hub || --entry.Users > 0)
            {
                return;
            }

            entry.IdleTimer = time.CreateTimer(
                static state =>
                {
                    var (hubs, idle) = ((RoomHubs, Entry))state!;
                    hubs.Evict(idle);
                },
                (this, entry),
                IdleLifetime,
                Timeout.InfiniteTimeSpan);
        }
    }

    public IReadOnlyList<RoomHub> All
    {
        get
        {
            lock (_gate)
            {
                return _hubs.Values.Select(e => e.Hub).ToArray();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Entry[] entries;
        lock (_gate)
        {
            entries = [.. _hubs.Values];
            _hubs.Clear();
        }

        foreach (var entry in entries)
        {
            entry.IdleTimer?.Dispose();
            await entry.Hub.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Evict(Entry entry)
    {
        lock (_gate)
        {
            // A stream came back meanwhile, or the hub is gone already: nothing to drop.
            if (entry.Users > 0 || !_hubs.TryGetValue(entry.Hub.Room, out var current) || current != entry)
            {
                return;
            }

            _hubs.Remove(entry.Hub.Room);
            entry.IdleTimer?.Dispose();
        }

        _ = DisposeQuietlyAsync(entry.Hub);
    }

    private async Task DisposeQuietlyAsync(RoomHub hub)
    {
        try
        {
            await hub.DisposeAsync().ConfigureAwait(false);
            Dropped(hub.Room);
        }
#pragma warning disable CA1031 // a timer callback has no caller: an unsubscribe that fails is logged, not thrown
        catch (Exception ex)
#pragma warning restore CA1031
        {
            DropFailed(hub.Room, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Room {Room}: no stream here for a while; its hub and subscription were dropped.")]
    private partial void Dropped(string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: dropping the idle hub failed.")]
    private partial void DropFailed(string room, Exception exception);

    private sealed class Entry(RoomHub hub)
    {
        public RoomHub Hub { get; } = hub;

        public int Users { get; set; }

        public ITimer? IdleTimer { get; set; }
    }
}
