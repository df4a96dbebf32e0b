using System.Collections.Immutable;
using System.Diagnostics;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>
/// This instance's side of one room: the single bus subscription and the streams open here. Each event from the
/// bus is rendered and encoded once, then its bytes are queued on every stream; presence notices go through the
/// room's <see cref="PresenceFanOut"/>, which coalesces them first.
/// </summary>
internal sealed class RoomHub(string room, IChatBus bus, FragmentRenderer renderer, ChatMetrics metrics, PresenceFanOuts presenceFanOuts) : IAsyncDisposable
{
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly Lock _gate = new();
    private ImmutableArray<StreamConnection> _connections = [];
    private IAsyncDisposable? _subscription;
    private Frame? _closedWith;
    private PresenceFanOut? _presence;

    public string Room { get; } = room;

    public int ConnectionCount => _connections.Length;

    /// <summary>Where this room's presence notices are gathered before they reach the streams.</summary>
    private PresenceFanOut Presence => LazyInitializer.EnsureInitialized(ref _presence, () => presenceFanOuts.Create(this));

    /// <summary>Subscribes this instance to the room once; later calls return at once.</summary>
    public async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _subscription) is not null)
        {
            return;
        }

        await _subscribing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _subscription ??= await bus.SubscribeAsync(Room, OnEventAsync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _subscribing.Release();
        }
    }

    public void Add(StreamConnection connection)
    {
        lock (_gate)
        {
            if (_closedWith is { } farewell)
            {
                // Opened while the instance was closing: it gets the same farewell as the others.
                connection.TryEnqueue(farewell);
                connection.Complete();
            }

            _connections = _connections.Add(connection);
        }
    }

    public void Remove(StreamConnection connection)
    {
        lock (_gate)
        {
            _connections = _connections.Remove(connection);
        }
    }

    /// <summary>Queues an already encoded frame (a message, a notice, a heartbeat) on every stream of this room.</summary>
    public void Broadcast(Frame frame)
    {
        foreach (var connection in _connections)
        {
            connection.TryEnqueue(frame);
        }
    }

    /// <summary>Sends every stream of this room a last frame and ends it (on shutdown); later streams too.</summary>
    public void Close(Frame farewell)
    {
        lock (_gate)
        {
            _closedWith = farewell;
            foreach (var connection in _connections)
            {
                connection.TryEnqueue(farewell);
                connection.Complete();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }

        _presence?.Dispose();
        _subscribing.Dispose();
    }

    private async ValueTask OnEventAsync(ChatEvent e)
    {
        if (_connections.IsEmpty)
        {
            return;
        }

        if (e.Kind != ChatEventKind.Message)
        {
            Presence.Add(e);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var bytes = await SseFrames.FragmentAsync(renderer.Render(e), e.Id).ConfigureAwait(false);
        var connections = _connections;
        Broadcast(new Frame(bytes, e.Id is null ? null : LogId.ParseOrDefault(e.Id), e.Presence?.Version));
        metrics.FannedOut(connections.Length, Stopwatch.GetElapsedTime(started));
    }
}
