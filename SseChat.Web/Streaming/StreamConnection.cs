using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace SseChat.Web.Streaming;

/// <summary>
/// One open SSE stream: a bounded queue of pre-encoded frames and the loop that writes them. The fan-out only
/// enqueues shared byte arrays (no per-connection rendering or allocation); a client too slow to keep its queue
/// from filling up is cut off, so it can never slow the room, and resumes from its Last-Event-ID on reconnect.
/// </summary>
internal sealed class StreamConnection
{
    private readonly Channel<byte[]> _queue;

    public StreamConnection(string nick, int capacity)
    {
        Nick = nick;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; we never wait.
        });
    }

    public string Nick { get; }

    /// <summary>True once the stream was closed because its queue overflowed.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Queues a frame; on overflow closes the stream instead of blocking the caller.</summary>
    public bool TryEnqueue(byte[] frame)
    {
        if (_queue.Writer.TryWrite(frame))
        {
            return true;
        }

        if (_queue.Writer.TryComplete())
        {
            Overflowed = true;
        }

        return false;
    }

    /// <summary>Ends the stream after what is queued has been written.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>
    /// Writes queued frames until the stream ends or the client goes away. Frames that are already waiting are
    /// written together and flushed once.
    /// </summary>
    public async Task PumpAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var frame))
            {
                output.Write(frame);
            }

            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
    }
}
