using System.Collections.Immutable;
using System.Diagnostics;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>
/// A room's local fan-out group: this instance's single bus subscription to the room and the streams open here. Each
/// message from the bus is rendered and encoded once (<see cref="SseFrames"/>), then the same bytes go to every stream.
/// In a room with fewer than <c>Chat:StreamGatherFrom</c> streams here, each stream writes each frame at once, on the
/// fan-out's thread. A larger room gathers: a frame waits <c>Chat:StreamFlushDelay</c>, and one pass then writes it,
/// with every frame that arrived meanwhile, to each stream in one write and one <c>send()</c>, so a loaded instance
/// spends its CPU on messages rather than on system calls. The choice depends on the room's size alone, which the
/// fan-out knows exactly, never on a rate measured under the very load it should react to. Presence notices go
/// through the room's <see cref="PresenceFanOut"/>, which coalesces them first.
/// </summary>
internal sealed class RoomFanOut : IAsyncDisposable
{
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly Lock _gate = new();
    private readonly IChatBus _bus;
    private readonly SseFrames _sseFrames;
    private readonly ChatMetrics _metrics;
    private readonly PresenceFanOutFactory _presenceFanOuts;
    private readonly TimeSpan _flushDelay;
    private readonly int _gatherFrom;
    private readonly ITimer? _flushTimer;
    private ImmutableArray<SseWriter> _streams = [];
    private IRoomSubscription? _subscription;
    private SseFrame? _closedWith;
    private int _flushScheduled;
    private PresenceFanOut? _presence;
    // When streams of this room were cut here for falling too far behind (timestamps of _time, oldest first), under
    // _gate; their count is read without it by every post, so a room with no recent cut costs a post nothing more.
    private readonly Queue<long> _slowCuts = new();
    private readonly TimeProvider _time;
    private int _slowCutCount;
    // The fan-out's frames of one batch, reused: only the subscription's one loop fills it.
    private SseFrame[] _frames = new SseFrame[16];

    public RoomFanOut(
        string room,
        IChatBus bus,
        SseFrames frames,
        ChatMetrics metrics,
        PresenceFanOutFactory presenceFanOuts,
        FlushPolicy flushing,
        TimeProvider time)
    {
        Room = room;
        _presenceFanOuts = presenceFanOuts;
        _bus = bus;
        _sseFrames = frames;
        _metrics = metrics;
        _flushDelay = flushing.Delay;
        _gatherFrom = flushing.GatherFrom;
        _time = time;
        if (_flushDelay > TimeSpan.Zero)
        {
            _flushTimer = time.CreateTimer(static state => ((RoomFanOut)state!).FlushNow(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public string Room { get; }

    public int StreamCount => _streams.Length;

    /// <summary>
    /// True when this room's delivery on this instance is more than <paramref name="bound"/> behind: its subscription's
    /// oldest waiting event (see <see cref="IRoomSubscription.Lag"/>), or frames waiting that long in most of its
    /// streams, or several of its streams cut here for falling too far behind within <paramref name="cutWindow"/> (see
    /// <see cref="NoteSlowReaderCut"/>). Most, or several, not any: one client that stopped reading must not refuse
    /// the room to everyone (it is cut off when its queue is full, and resumes).
    /// </summary>
    public bool IsBehind(TimeSpan bound, TimeSpan cutWindow)
    {
        if ((Volatile.Read(ref _subscription)?.Lag ?? TimeSpan.Zero) > bound)
        {
            return true;
        }

        if (Volatile.Read(ref _slowCutCount) >= MinSlowCuts && TooManySlowCuts(cutWindow))
        {
            return true;
        }

        // Asked on every post, of rooms of hundreds of streams: each stream's wait is compared with one deadline (read
        // from the clock once, not once per stream), and the count stops as soon as the rest cannot make a majority.
        var streams = _streams;
        var late = 0;
        TimeProvider? clock = null;
        var deadline = 0L;
        for (var i = 0; i < streams.Length; i++)
        {
            if ((i - late) * 2 >= streams.Length)
            {
                return false;
            }

            var stream = streams[i];
            var since = stream.WaitingSince;
            if (since == 0)
            {
                continue;
            }

            if (!ReferenceEquals(stream.Clock, clock))
            {
                clock = stream.Clock;
                deadline = clock.GetTimestamp() - (long)(bound.TotalSeconds * clock.TimestampFrequency);
            }

            if (since < deadline && ++late * 2 > streams.Length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>How many slow-reader cuts within the window make the room busy, at the least (see <see cref="TooManySlowCuts"/>).</summary>
    internal const int MinSlowCuts = 2;

    /// <summary>The share of the room's streams here (one in this many) whose cuts within the window make it busy, when more than <see cref="MinSlowCuts"/>.</summary>
    internal const int SlowCutShare = 32;

    /// <summary>
    /// A stream of this room was cut off here for falling too far behind it (its queue was full; not a client that took
    /// nothing at all, not a shutdown). Its client comes back after the reconnect delay from the last id it got, and
    /// the log must still hold what came after that: while the room's readers are being cut, more posts would push
    /// their resume points out of the log and make them late for everyone. True when this cut makes the room behind
    /// (<see cref="IsBehind"/>) for <paramref name="window"/>: the caller then pauses the room on every instance.
    /// </summary>
    public bool NoteSlowReaderCut(TimeSpan window)
    {
        lock (_gate)
        {
            _slowCuts.Enqueue(_time.GetTimestamp());
        }

        return TooManySlowCuts(window);
    }

    // At least MinSlowCuts, and one in SlowCutShare of the streams open here, cut within the window: one slow phone
    // is not enough, a room whose readers fall behind together is.
    private bool TooManySlowCuts(TimeSpan window)
    {
        lock (_gate)
        {
            var oldest = _time.GetTimestamp() - (long)(window.TotalSeconds * _time.TimestampFrequency);
            while (_slowCuts.TryPeek(out var cut) && cut < oldest)
            {
                _slowCuts.Dequeue();
            }

            _slowCutCount = _slowCuts.Count;
            return _slowCutCount >= Math.Max(MinSlowCuts, _streams.Length / SlowCutShare);
        }
    }

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
            _subscription ??= await _bus.SubscribeAsync(Room, OnEvents, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _subscribing.Release();
        }
    }

    public void Add(SseWriter stream)
    {
        lock (_gate)
        {
            if (_closedWith is { } farewell)
            {
                // Opened while the instance was closing: it gets the same farewell as the others.
                stream.TryEnqueue(farewell);
                stream.Complete();
            }

            _streams = _streams.Add(stream);
        }
    }

    public void Remove(SseWriter stream)
    {
        lock (_gate)
        {
            _streams = _streams.Remove(stream);
        }
    }

    /// <summary>Cuts off the streams of this room whose client has taken nothing for longer than <paramref name="bound"/> while frames waited (see <see cref="SseWriter.CutIfStalled"/>).</summary>
    public void CutStalled(TimeSpan bound)
    {
        foreach (var stream in _streams)
        {
            stream.CutIfStalled(bound);
        }
    }

    /// <summary>Sends an already encoded frame (a notice, a heartbeat) to every stream of this room.</summary>
    public void Broadcast(SseFrame frame) => Broadcast(new ReadOnlySpan<SseFrame>(in frame));

    /// <summary>Sends already encoded frames, in order, to every stream of this room: each stream writes them together.</summary>
    public void Broadcast(ReadOnlySpan<SseFrame> frames)
    {
        var streams = _streams;
        if (_flushTimer is null || streams.Length < _gatherFrom)
        {
            // A small room: each stream writes the frames as soon as it can, in one write.
            foreach (var stream in streams)
            {
                stream.Deliver(frames);
            }

            return;
        }

        // A large one: the frames wait for the next pass, with whatever else arrives meanwhile.
        foreach (var stream in streams)
        {
            stream.TryEnqueue(frames);
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
        foreach (var stream in _streams)
        {
            stream.Flush();
        }
    }

    /// <summary>Sends every stream of this room a last frame and ends it (on shutdown); later streams too.</summary>
    public void Close(SseFrame farewell)
    {
        lock (_gate)
        {
            _closedWith = farewell;
            foreach (var stream in _streams)
            {
                stream.TryEnqueue(farewell);
                stream.Complete();
                stream.Flush();
            }
        }
    }

    /// <summary>Ends every stream of this room now (an instance that must stop before they finished).</summary>
    public void Abort()
    {
        foreach (var stream in _streams)
        {
            stream.Abort();
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

    /// <summary>
    /// A batch from the subscription: its presence notices go to the room's presence fan-out, and its messages, each
    /// rendered and encoded once, go to every stream together.
    /// </summary>
    private void OnEvents(IReadOnlyList<ChatEvent> events)
    {
        if (_streams.IsEmpty)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var frames = _frames.Length >= events.Count ? _frames : (_frames = new SseFrame[Math.Max(events.Count, 16)]);
        var count = 0;
        foreach (var e in events)
        {
            if (e.Kind == ChatEventKind.Message)
            {
                frames[count++] = _sseFrames.Message(e);
            }
            else
            {
                Presence.Add(e);
            }
        }

        if (count == 0)
        {
            return;
        }

        var streams = _streams.Length;
        Broadcast(frames.AsSpan(0, count));
        Array.Clear(frames, 0, count);
        _metrics.FannedOut(streams * count, Stopwatch.GetElapsedTime(started));
    }
}
