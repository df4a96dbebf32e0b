using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using SseChat.Web.Bus;

namespace SseChat.Web.Streaming;

/// <summary>
/// An encoded SSE frame, shared by every stream it is queued on: the log id of the message it carries, or the presence
/// version of the notice it carries.
/// </summary>
internal readonly record struct Frame(byte[] Bytes, LogId? Id, long? PresenceVersion = null);

/// <summary>
/// One open SSE stream: a bounded queue of pre-encoded frames and the loop that writes them. The fan-out only
/// enqueues shared byte arrays (no per-connection rendering or allocation); a client too slow to keep its queue
/// from filling up is cut off, so it can never slow the room, and resumes from its Last-Event-ID on reconnect.
/// </summary>
#pragma warning disable CA1001 // _overflow is deliberately not disposed (see there); it holds no timer or handle
internal sealed class StreamConnection
#pragma warning restore CA1001
{
    private readonly Channel<Frame> _queue;
    // Never disposed: a fan-out still holding this connection may cancel it after the stream has ended.
    private readonly CancellationTokenSource _overflow = new();
    private LogId _lastSent;
    private long _presenceSeen;

    public StreamConnection(string nick, int capacity)
    {
        Nick = nick;
        _queue = Channel.CreateBounded<Frame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; we never wait.
        });
    }

    public string Nick { get; }

    /// <summary>True once the stream was cut off because its queue overflowed.</summary>
    public bool Overflowed => _overflow.IsCancellationRequested;

    /// <summary>Queues a frame; on overflow cuts the stream off instead of blocking the caller.</summary>
    public bool TryEnqueue(Frame frame)
    {
        if (_queue.Writer.TryWrite(frame))
        {
            return true;
        }

        if (_queue.Writer.TryComplete())
        {
            // Also abandons a write that is stuck on a client that stopped reading.
            _overflow.Cancel();
        }

        return false;
    }

    /// <summary>Ends the stream after what is queued has been written.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Writes a message this stream is sent outside the queue (a replay) and remembers its id.</summary>
    public void WriteReplayed(PipeWriter output, byte[] frame, LogId id)
    {
        output.Write(frame);
        _lastSent = id;
    }

    /// <summary>
    /// Says that what this stream was sent already reflects the room's presence up to <paramref name="version"/>:
    /// queued notices up to it (changes from before the stream started) are not sent.
    /// </summary>
    public void SkipPresenceThrough(long version) => _presenceSeen = version;

    /// <summary>
    /// Writes queued frames until the stream ends, the client goes away or the queue overflows. Frames already
    /// waiting are written together and flushed once. A message the replay already sent is skipped, and so is a presence
    /// notice older than what the stream already shows.
    /// </summary>
    public async Task PumpAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _overflow.Token);
        var token = linked.Token;
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (reader.TryRead(out var frame))
            {
                if (frame.Id is { } id)
                {
                    if (id <= _lastSent)
                    {
                        continue;
                    }

                    _lastSent = id;
                }
                else if (frame.PresenceVersion is { } version)
                {
                    if (version <= _presenceSeen)
                    {
                        continue;
                    }

                    _presenceSeen = version;
                }

                output.Write(frame.Bytes);
            }

            var flush = await output.FlushAsync(token).ConfigureAwait(false);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
    }
}
