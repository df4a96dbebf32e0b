using System.Buffers;
using System.IO.Pipelines;
using SseChat.Web.Bus;

namespace SseChat.Web.Streaming;

/// <summary>
/// An encoded SSE frame, shared by every stream it is queued on: the log id of the message it carries, or the presence
/// version of the notice it carries.
/// </summary>
internal readonly record struct Frame(byte[] Bytes, LogId? Id, long? PresenceVersion = null);

/// <summary>
/// One open SSE stream: the frames waiting for it and the writing of them. There is no per-stream loop or thread:
/// the fan-out only adds a shared, pre-encoded frame to the stream's pending list, and whoever asks for a
/// <see cref="Flush"/> (the room's flush pass, see <see cref="RoomHub"/>) writes everything pending into the
/// response's pipe and flushes it once, on its own thread, when the stream is not already busy writing. A stream whose
/// client reads slowly gathers frames meanwhile and writes them together the next time; one that lets
/// <see cref="Capacity"/> frames pile up is cut off, so it can never slow the room, and resumes from its Last-Event-ID
/// on reconnect.
/// </summary>
#pragma warning disable CA1001 // _overflow is deliberately not disposed (see there); it holds no timer or handle
internal sealed class StreamConnection
#pragma warning restore CA1001
{
    private const int InitialPending = 4;

    private readonly Lock _gate = new();
    // Never disposed: a fan-out still holding this connection may cancel it after the stream has ended.
    private readonly CancellationTokenSource _overflow = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Filled by the fan-out; the writer swaps it with its own (empty) list and writes that, so neither allocates.
    private Frame[] _pending = new Frame[InitialPending];
    private Frame[] _spare = new Frame[InitialPending];
    private int _pendingCount;
    private PipeWriter? _output;
    private CancellationToken _token;
    private bool _writing;
    private bool _completing;
    private bool _closed;
    private TaskCompletionSource? _writerIdle;
    // Only the writer (or the endpoint, before the stream goes live) touches these.
    private LogId _lastSent;
    private long _presenceSeen;

    public StreamConnection(string nick, int capacity)
    {
        Nick = nick;
        Capacity = capacity;
    }

    public string Nick { get; }

    /// <summary>How many frames may wait for this stream before it is cut off.</summary>
    public int Capacity { get; }

    /// <summary>True once the stream was cut off because too many frames waited for it.</summary>
    public bool Overflowed => _overflow.IsCancellationRequested;

    /// <summary>Adds a frame for the next <see cref="Flush"/>; on overflow cuts the stream off instead of waiting.</summary>
    public bool TryEnqueue(Frame frame)
    {
        lock (_gate)
        {
            if (_completing || _closed)
            {
                return false;
            }

            if (_pendingCount == _pending.Length)
            {
                if (_pendingCount >= Capacity)
                {
                    _completing = true;
                    // Also abandons a write that is stuck on a client that stopped reading.
                    _overflow.Cancel();
                    _ended.TrySetResult();
                    return false;
                }

                Array.Resize(ref _pending, Math.Min(Capacity, _pending.Length * 2));
            }

            _pending[_pendingCount++] = frame;
            return true;
        }
    }

    /// <summary>Ends the stream after what is pending has been written (call <see cref="Flush"/> after it).</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completing = true;
            if (_pendingCount == 0 && !_writing)
            {
                _ended.TrySetResult();
            }
        }
    }

    /// <summary>Writes a message this stream is sent before it goes live (a replay) and remembers its id.</summary>
    public void WriteReplayed(PipeWriter output, byte[] frame, LogId id)
    {
        output.Write(frame);
        _lastSent = id;
    }

    /// <summary>
    /// Says that what this stream was sent already reflects the room's presence up to <paramref name="version"/>:
    /// pending notices up to it (changes from before the stream started) are not sent.
    /// </summary>
    public void SkipPresenceThrough(long version) => _presenceSeen = version;

    /// <summary>
    /// Writes what is pending now, unless the stream is not live yet or another thread is writing it already (that
    /// one takes the new frames too). Never blocks: a flush that has to wait for the client continues on its own.
    /// </summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_writing || _closed || _output is null || _pendingCount == 0)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteAsync();
    }

    /// <summary>
    /// The stream is live from here on: writes what waited meanwhile, then everything flushed later, until the stream
    /// ends (after <see cref="Complete"/>), the client goes away or too many frames wait.
    /// </summary>
    public async Task RunAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _overflow.Token);
        lock (_gate)
        {
            _token = linked.Token;
            _output = output;
        }

        Flush();
        try
        {
            await _ended.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            await CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Nothing writes to the response after this returns: a writer still at work is waited for (its flush is cancelled
    /// with the stream, so the wait is short). The response's pipe belongs to the server again once the request ends.
    /// </summary>
    private async Task CloseAsync()
    {
        Task idle;
        lock (_gate)
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

    private async Task WriteAsync()
    {
        try
        {
            while (true)
            {
                Frame[] batch;
                int count;
                lock (_gate)
                {
                    if (_closed || _pendingCount == 0)
                    {
                        ReleaseWriter();
                        return;
                    }

                    batch = _pending;
                    count = _pendingCount;
                    _pending = _spare.Length >= InitialPending * 4 && count < _spare.Length / 4 ? new Frame[InitialPending] : _spare;
                    _spare = batch;
                    _pendingCount = 0;
                }

                var output = _output!;
                for (var i = 0; i < count; i++)
                {
                    Write(output, batch[i]);
                }

                Array.Clear(batch, 0, count);
                var flush = await output.FlushAsync(_token).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    lock (_gate)
                    {
                        ReleaseWriter();
                    }

                    _ended.TrySetResult();
                    return;
                }
            }
        }
#pragma warning disable CA1031 // no caller to throw to: the stream's own task reports it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                ReleaseWriter();
            }

            _ended.TrySetException(ex);
        }
    }

    private void Write(PipeWriter output, Frame frame)
    {
        if (frame.Id is { } id)
        {
            if (id <= _lastSent)
            {
                return;
            }

            _lastSent = id;
        }
        else if (frame.PresenceVersion is { } version)
        {
            if (version <= _presenceSeen)
            {
                return;
            }

            _presenceSeen = version;
        }

        output.Write(frame.Bytes);
    }

    // Under _gate.
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
