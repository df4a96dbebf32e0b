using System.Buffers;
using System.IO.Pipelines;
using SseChat.Web.Bus;

namespace SseChat.Web.Streaming;

/// <summary>
/// One SSE response's queue of frames and the writing of them. There is no per-stream loop or thread:
/// the fan-out hands each shared, pre-encoded frame to the stream, and a stream that is not busy writes it into the
/// response's pipe and flushes at once, on the fan-out's thread (<see cref="Deliver"/>); in a room that gathers, the
/// frames are only added (<see cref="TryEnqueue"/>) and the room's flush pass writes them all with one flush
/// (<see cref="Flush"/>). A stream whose client reads slowly gathers frames while its write is under way and writes
/// them together next; one that lets its capacity (<c>Chat:StreamQueueCapacity</c>) fill up is cut off, so it can
/// never slow the room, and resumes from its Last-Event-ID on reconnect. A stream that never has to wait holds no list.
/// It alone knows what its client has seen: the newest message id and presence version it wrote (see <see cref="SseFrame"/>).
/// </summary>
internal sealed class SseWriter
{
    private const int InitialPending = 4;

    private readonly int _capacity;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Filled while the stream is busy or not live yet; the writer swaps it with its own (empty) list and writes that.
    // Both are made when first needed.
    private SseFrame[]? _pending;
    private SseFrame[]? _spare;
    // The one frame waiting while there is no list: a stream that waits for one frame at a time (each heartbeat and
    // message of a room large enough to gather) makes no list; before, each such pass made one for every stream of the
    // room, 2.5 MB of garbage a heartbeat at 10,000 idle streams.
    private SseFrame _first;
    private int _pendingCount;
    private long _waitingSince;
    private bool _overflowed;
    private bool _stalled;
    private bool _aborted;
    private PipeWriter? _output;
    private CancellationToken _token;
    private CancellationTokenRegistration _live;
    private bool _writing;
    private bool _completing;
    private bool _closed;
    // Whether _output is the connection under an HTTP/1.1 response, each write one chunk (ChunkedConnection).
    private bool _chunks;
    private TaskCompletionSource? _writerIdle;
    // Only the writer (or the preamble, before the stream goes live) touches these.
    private LogId _lastSent;
    private long _presenceSeen;

    // The monitor of the writer's state: the promise of its end, which nothing outside sees. A Lock of its own would be
    // one more object (40 bytes) per open stream; a monitor takes no memory unless threads contend for it.
    private object Gate => _ended;

    /// <param name="capacity">How many frames may wait for this stream before it is cut off.</param>
    /// <param name="time">The clock of <see cref="WaitingFor"/>.</param>
    public SseWriter(int capacity, TimeProvider? time = null)
    {
        _capacity = capacity;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// How long the oldest frame still waiting to be written to this stream has waited (frames pile up while a write is
    /// under way); zero when none waits.
    /// </summary>
    public TimeSpan WaitingFor
    {
        get
        {
            var since = Volatile.Read(ref _waitingSince);
            return since == 0 ? TimeSpan.Zero : _time.GetElapsedTime(since);
        }
    }

    /// <summary>
    /// When (a timestamp of <see cref="Clock"/>) the oldest frame still waiting was added; zero when none waits. What
    /// <see cref="WaitingFor"/> measures, for a caller that compares many streams with one deadline.
    /// </summary>
    public long WaitingSince => Volatile.Read(ref _waitingSince);

    /// <summary>The clock of <see cref="WaitingFor"/> and <see cref="WaitingSince"/>.</summary>
    public TimeProvider Clock => _time;

    /// <summary>True once the stream was cut off as too slow: too many frames waited for it, or one waited too long.</summary>
    public bool Overflowed => Volatile.Read(ref _overflowed);

    /// <summary>How many frames may wait for this stream before it is cut off.</summary>
    public int Capacity => _capacity;

    /// <summary>True when the stream was cut off by <see cref="CutIfStalled"/> (its client took nothing for too long), not for a full queue.</summary>
    public bool Stalled => Volatile.Read(ref _stalled);

    /// <summary>Adds a frame for the next <see cref="Flush"/>; on overflow cuts the stream off instead of waiting.</summary>
    public bool TryEnqueue(SseFrame frame) => TryEnqueue(new ReadOnlySpan<SseFrame>(in frame));

    /// <summary>Adds frames, in order, for the next <see cref="Flush"/>; false when not all of them were added (see <see cref="TryEnqueue(SseFrame)"/>).</summary>
    public bool TryEnqueue(ReadOnlySpan<SseFrame> frames)
    {
        bool added, overflowedNow;
        lock (Gate)
        {
            added = TryAddAll(frames, out overflowedNow);
        }

        if (overflowedNow)
        {
            Cut();
        }

        return added;
    }

    /// <summary>
    /// Sends frames now: written and flushed once, on the caller's thread, when the stream is live and idle, else added
    /// for the write under way (or for when the stream goes live). The frames are written before this returns.
    /// </summary>
    public void Deliver(ReadOnlySpan<SseFrame> frames)
    {
        bool write, overflowedNow = false;
        lock (Gate)
        {
            write = !_writing && _output is not null && _pendingCount == 0 && !_completing && !_closed;
            if (write)
            {
                _writing = true;
            }
            else
            {
                TryAddAll(frames, out overflowedNow);
            }
        }

        if (write)
        {
            if (frames.Length == 1)
            {
                // The usual case (every message at light load): written and flushed in one call, before WriteAsync
                // first waits.
                _ = WriteAsync(flushFirst: false, frames[0]);
                return;
            }

            try
            {
                WriteAll(_output!, frames);
            }
#pragma warning disable CA1031 // the fan-out must go on to the other streams: this stream's own task reports it
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Fail(ex);
                return;
            }

            _ = WriteAsync(flushFirst: true);
        }
        else if (overflowedNow)
        {
            Cut();
        }
    }

    /// <summary>Ends the stream after what is pending has been written (call <see cref="Flush"/> after it).</summary>
    public void Complete()
    {
        lock (Gate)
        {
            _completing = true;
            if (_pendingCount == 0 && !_writing)
            {
                _ended.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Writes one of the frames a stream gets before it goes live (the hello, a replay, the list of people, a reset), in
    /// order, straight into the response; like every frame, it marks what the client has seen. Only before
    /// <see cref="GoLive"/>, by the one that opened the stream.
    /// </summary>
    public void WritePreamble(PipeWriter output, SseFrame frame) => Write(output, frame);

    /// <summary>
    /// Writes what is pending now, unless the stream is not live yet or another thread is writing it already (that
    /// one takes the new frames too). Never blocks: a flush that has to wait for the client continues on its own.
    /// </summary>
    public void Flush()
    {
        lock (Gate)
        {
            if (_writing || _closed || _output is null || _pendingCount == 0)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteAsync(flushFirst: false);
    }

    /// <summary>
    /// The stream is live from here on: writes what waited meanwhile, then everything flushed later, until the stream
    /// ends (after <see cref="Complete"/>), the client goes away or too many frames wait; then <see cref="Ended"/>
    /// completes. Call <see cref="EndAsync"/> after that. The caller awaits <see cref="Ended"/> in its own frame (the
    /// stream's session does), so an idle stream holds one suspended frame, not one per layer.
    /// </summary>
    /// <param name="output">The response's writer, or the connection under it (see <paramref name="chunks"/>).</param>
    /// <param name="cancellationToken">Cancelled when the client goes away or the instance must stop now.</param>
    /// <param name="chunks">
    /// True when <paramref name="output"/> is the connection under a chunked HTTP/1.1 response (see
    /// <see cref="ChunkedConnection"/>): what each write sends then goes out as one chunk.
    /// </param>
    public void GoLive(PipeWriter output, CancellationToken cancellationToken, bool chunks = false)
    {
        lock (Gate)
        {
            _token = cancellationToken;
            _output = output;
            _chunks = chunks;
        }

        Flush();
        // The client going away ends the stream (one registration; no promise of its own per stream).
        _live = cancellationToken.UnsafeRegister(static state => ((SseWriter)state!)._ended.TrySetCanceled(), this);
    }

    /// <summary>Completes when the stream has ended: faulted, or cancelled when the client went away or it was cut off.</summary>
    public Task Ended => _ended.Task;

    /// <summary>
    /// After <see cref="Ended"/> (or when the stream never went live): drops the registration and waits for a write still
    /// under way.
    /// </summary>
    public async Task EndAsync()
    {
        await _live.DisposeAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Nothing writes to the response after this returns: a writer still at work is waited for (its flush is cancelled
    /// with the stream, so the wait is short). The response's pipe belongs to the server again once the request ends.
    /// </summary>
    private async Task CloseAsync()
    {
        Task idle;
        lock (Gate)
        {
            _closed = true;
            if (!_writing)
            {
                return;
            }

            _writerIdle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _writerIdle.Task;
        }

        await idle.ConfigureAwait(false);
    }

    // Called by whoever set _writing: sends the one frame Deliver was given (single), or flushes what it wrote
    // (flushFirst), then writes what is pending.
    private async Task WriteAsync(bool flushFirst, SseFrame? single = null)
    {
        try
        {
            var output = _output!;
            var open = single is { } frame ? await SendAsync(output, frame).ConfigureAwait(false)
                : !flushFirst || await FlushAsync(output).ConfigureAwait(false);
            if (!open)
            {
                return;
            }

            while (true)
            {
                SseFrame[]? batch;
                SseFrame first = default;
                int count;
                lock (Gate)
                {
                    if (_closed || _pendingCount == 0)
                    {
                        // Caught up: an idle stream keeps no lists (a burst made them; most streams are idle).
                        _pending = null;
                        _spare = null;
                        _first = default;
                        ReleaseWriter();
                        return;
                    }

                    count = _pendingCount;
                    Volatile.Write(ref _waitingSince, 0);
                    _pendingCount = 0;
                    if (_pending is null)
                    {
                        batch = null;
                        first = _first;
                        _first = default;
                    }
                    else
                    {
                        batch = _pending;
                        // While frames keep coming, two lists take turns; a list grown by a burst is not kept for the next one.
                        _pending = _spare is { } spare && (spare.Length < InitialPending * 4 || count >= spare.Length / 4) ? spare : null;
                        _spare = batch;
                    }
                }

                if (batch is null)
                {
                    if (!await SendAsync(output, first).ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                WriteAll(output, batch.AsSpan(0, count));
                Array.Clear(batch, 0, count);
                if (!await FlushAsync(output).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
#pragma warning disable CA1031 // no caller to throw to: the stream's own task reports it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(ex);
        }
    }

    /// <summary>The writer failed: it lets go, and the stream ends with the error.</summary>
    private void Fail(Exception ex)
    {
        lock (Gate)
        {
            ReleaseWriter();
        }

        _ended.TrySetException(ex);
    }

    /// <summary>
    /// Writes one frame and flushes it: as a chunk of its own straight onto the connection (see
    /// <see cref="ChunkedConnection"/>), or else in one call to the response's writer, which for a chunked response
    /// Kestrel frames as one chunk and flushes (a write into its pipe and a flush take three trips through its layers
    /// and its lock). False (and the stream ends) when the response is over.
    /// </summary>
    private ValueTask<bool> SendAsync(PipeWriter output, SseFrame frame) =>
        Accept(frame) && frame.Bytes.Length > 0 ? FlushAsync(output, frame.Bytes) : new(true);

    /// <summary>Flushes, after writing <paramref name="bytes"/> if given; false (and the stream ends) when the response is over.</summary>
    private async ValueTask<bool> FlushAsync(PipeWriter output, byte[]? bytes = null)
    {
        if (bytes is not null && _chunks)
        {
            ChunkedConnection.Write(output, bytes);
            bytes = null;
        }

        var flush = bytes is null
            ? await output.FlushAsync(_token).ConfigureAwait(false)
            : await output.WriteAsync(bytes, _token).ConfigureAwait(false);
        if (!flush.IsCompleted && !flush.IsCanceled)
        {
            return true;
        }

        lock (Gate)
        {
            ReleaseWriter();
        }

        _ended.TrySetResult();
        return false;
    }

    // Under the gate: TryAdd for each frame in turn, stopping at the first that is not added.
    private bool TryAddAll(ReadOnlySpan<SseFrame> frames, out bool overflowedNow)
    {
        overflowedNow = false;
        foreach (var frame in frames)
        {
            if (!TryAdd(frame, out overflowedNow))
            {
                return false;
            }
        }

        return true;
    }

    // Under the gate. False when the stream is over or overflows; overflowedNow on the frame that overflows it (whose
    // caller then cuts it, outside the lock).
    private bool TryAdd(SseFrame frame, out bool overflowedNow)
    {
        overflowedNow = false;
        if (_completing || _closed)
        {
            return false;
        }

        if (_pendingCount == 0)
        {
            Volatile.Write(ref _waitingSince, _time.GetTimestamp());
            if (_pending is null)
            {
                _first = frame;
                _pendingCount = 1;
                return true;
            }
        }
        else if (_pending is null)
        {
            // A second frame: the list takes over from the one slot.
            _pending = new SseFrame[InitialPending];
            _pending[0] = _first;
            _first = default;
        }

        if (_pendingCount == _pending.Length)
        {
            if (_pendingCount >= _capacity)
            {
                _completing = true;
                _overflowed = true;
                overflowedNow = true;
                return false;
            }

            Array.Resize(ref _pending, Math.Min(_capacity, _pending.Length * 2));
        }

        _pending[_pendingCount++] = frame;
        return true;
    }

    /// <summary>
    /// Ends the stream now, whatever waits (an instance that must stop now, see StreamShutdown), and abandons a write stuck
    /// on a client that stopped reading.
    /// </summary>
    public void Abort()
    {
        Volatile.Write(ref _aborted, true);
        Cut();
    }

    /// <summary>
    /// Cuts a live stream off as too slow (<see cref="Overflowed"/>, like a full queue) when its oldest waiting frame has
    /// waited longer than <paramref name="bound"/>: its client has taken nothing for that long while frames were due. A
    /// stream written straight onto its connection (<see cref="ChunkedConnection"/>) is outside the server's minimum data
    /// rate, and a quiet room would take hours to fill a queue: this ends such a stream instead. True if it was cut now.
    /// </summary>
    public bool CutIfStalled(TimeSpan bound)
    {
        if (WaitingFor <= bound)
        {
            return false;
        }

        lock (Gate)
        {
            if (_output is null || _completing || _closed)
            {
                return false;
            }

            _completing = true;
            _overflowed = true;
            _stalled = true;
        }

        Cut();
        return true;
    }

    /// <summary>True once the stream was ended by <see cref="Abort"/>: its connection is to be dropped, not finished.</summary>
    public bool Aborted => Volatile.Read(ref _aborted);

    /// <summary>Cuts an overflowed stream off: ends it, and abandons a write stuck on a client that stopped reading.</summary>
    private void Cut()
    {
        lock (Gate)
        {
            // Under the lock: once the stream is closed and its writer idle, its pipe may serve the connection's next
            // request. A writer still at work holds the close back, so its flush may be cancelled even after it.
            // Before ending the stream: ended first, the close could run in between and skip the cancel, and then wait
            // for ever for a writer stuck on a client that reads nothing.
            if (!_closed || _writing)
            {
                _output?.CancelPendingFlush();
            }
        }

        _ended.TrySetResult();
    }

    // Writes the frames its client is still to see; onto the connection, all of them as one chunk (its reader then
    // parses one chunk per write, as with the response's writer).
    private void WriteAll(PipeWriter output, ReadOnlySpan<SseFrame> frames)
    {
        if (!_chunks)
        {
            foreach (var frame in frames)
            {
                Write(output, frame);
            }

            return;
        }

        // Which frames go out is settled first (Accept marks them sent): their sizes make the chunk's header.
        Span<bool> sent = frames.Length <= 256 ? stackalloc bool[frames.Length] : new bool[frames.Length];
        var length = 0;
        for (var i = 0; i < frames.Length; i++)
        {
            sent[i] = Accept(frames[i]) && frames[i].Bytes.Length > 0;
            length += sent[i] ? frames[i].Bytes.Length : 0;
        }

        if (length == 0)
        {
            return;
        }

        ChunkedConnection.WriteStart(output, length);
        for (var i = 0; i < frames.Length; i++)
        {
            if (sent[i])
            {
                output.Write(frames[i].Bytes);
            }
        }

        ChunkedConnection.WriteEnd(output);
    }

    // Into the response's writer: the preamble, and every write of a stream not on its connection.
    private void Write(PipeWriter output, SseFrame frame)
    {
        if (Accept(frame) && frame.Bytes.Length > 0)
        {
            output.Write(frame.Bytes);
        }
    }

    // Whether the client is still to see this frame (a message or presence version newer than what it was sent); if
    // so, marks it sent.
    private bool Accept(SseFrame frame)
    {
        if (frame.Id is { } id)
        {
            if (id <= _lastSent)
            {
                return false;
            }

            _lastSent = id;
        }
        else if (frame.PresenceVersion is { } version)
        {
            if (version <= _presenceSeen)
            {
                return false;
            }

            _presenceSeen = version;
        }

        return true;
    }

    // Under the gate.
    private void ReleaseWriter()
    {
        _writing = false;
        _writerIdle?.TrySetResult();
        if (_completing && _pendingCount == 0)
        {
            _ended.TrySetResult();
        }
    }
}
