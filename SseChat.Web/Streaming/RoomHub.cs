using System.Collections.Immutable;
using System.Diagnostics;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>
/// This instance's side of one room: the single bus subscription and the streams open here. Each event from the
/// bus is rendered and encoded once, then the same bytes go to every stream. In a room with fewer than
/// <c>Chat:StreamGatherFrom</c> streams here, each stream writes each frame at once, on the fan-out's thread. A larger
/// room gathers: a frame waits <c>Chat:StreamFlushDelay</c>, and one pass then writes it, with every frame that arrived
/// meanwhile, to each stream in one write and one <c>send()</c>, so a loaded instance spends its CPU on messages rather
/// than on system calls. The choice depends on the room's size only: a rule on its rate, measured where the fan-out
/// runs, went wrong under overload (BENCHMARKS.md). Presence notices go through the room's
/// <see cref="PresenceFanOut"/>, which coalesces them first.
/// </summary>
internal sealed class RoomHub : IAsyncDisposable
{
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly Lock _gate = new();
    private readonly IChatBus _bus;
    private readonly FragmentRenderer _renderer;
    private readonly ChatMetrics _metrics;
    private readonly PresenceFanOuts _presenceFanOuts;
    private readonly TimeSpan _flushDelay;
    private readonly int _gatherFrom;
    private readonly ITimer? _flushTimer;
    private ImmutableArray<StreamConnection> _connections = [];
    private IAsyncDisposable? _subscription;
    private Frame? _closedWith;
    private int _flushScheduled;
    private PresenceFanOut? _presence;

    public RoomHub(
        string room,
        IChatBus bus,
        FragmentRenderer renderer,
        ChatMetrics metrics,
        PresenceFanOuts presenceFanOuts,
        StreamFlushing flushing,
        TimeProvider time)
    {
        Room = room;
        _presenceFanOuts = presenceFanOuts;
        _bus = bus;
        _renderer = renderer;
        _metrics = metrics;
        _flushDelay = flushing.Delay;
        _gatherFrom = flushing.GatherFrom;
        if (_flushDelay > TimeSpan.Zero)
        {
            _flushTimer = time.CreateTimer(static state => ((RoomHub)state!).FlushNow(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public string Room { get; }

    public int ConnectionCount => _connections.Length;

    /// <summary>Where this room's presence notices are gathered before they reach the streams.</summary>
    private PresenceFanOut Presence => LazyInitializer.EnsureInitialized(ref _presence, () => _presenceFanOuts.Create(this));

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
            _subscription ??= await _bus.SubscribeAsync(Room, OnEventAsync, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Sends an already encoded frame (a message, a notice, a heartbeat) to every stream of this room.</summary>
    public void Broadcast(Frame frame)
    {
        var connections = _connections;
        if (_flushTimer is null || connections.Length < _gatherFrom)
        {
            // A small room: each stream writes the frame as soon as it can.
            foreach (var connection in connections)
            {
                connection.Deliver(frame);
            }

            return;
        }

        // A large one: the frame waits for the next pass, with whatever else arrives meanwhile.
        foreach (var connection in connections)
        {
            connection.TryEnqueue(frame);
        }

        if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
        {
            _flushTimer.Change(_flushDelay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Writes out what every stream has pending (the gathered flush pass).</summary>
    private void FlushNow()
    {
        Volatile.Write(ref _flushScheduled, 0);
        foreach (var connection in _connections)
        {
            connection.Flush();
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
                connection.Flush();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_flushTimer is not null)
        {
            await _flushTimer.DisposeAsync().ConfigureAwait(false);
        }

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
        var bytes = await SseFrames.FragmentAsync(_renderer.Render(e), e.Id).ConfigureAwait(false);
        var connections = _connections;
        Broadcast(new Frame(bytes, e.Id is null ? null : LogId.ParseOrDefault(e.Id), e.Presence?.Version));
        _metrics.FannedOut(connections.Length, Stopwatch.GetElapsedTime(started));
    }
}

/// <summary>How a room paces its writes: <c>Chat:StreamFlushDelay</c> and <c>Chat:StreamGatherFrom</c>.</summary>
internal readonly record struct StreamFlushing(TimeSpan Delay, int GatherFrom);
