using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections.Features;

namespace SseChat.Web.Streaming;

/// <summary>
/// Writes a live HTTP/1.1 event stream's frames as chunks straight onto its connection, below Kestrel's response layer.
/// </summary>
/// <remarks>
/// <para>Kestrel frames every HTTP/1.1 response without a length as chunks, and on its way to the connection each write
/// of the response's body goes through its output producer: a lock, a chunk header reserved and filled in, the timing
/// of the write for the minimum data rate, several interface calls. For a fan-out that makes one small write per stream
/// per message, that layer cost about a fifth of the CPU per delivery on Kestrel with no chat code (<c>floors.sh</c>'s
/// fan-out, 300 streams × 100 frames/s: 0.82×, six interleaved pairs). A live stream writes its chunks itself instead,
/// one per write (the frames it sends together are one chunk, as Kestrel would make them, so its client parses no more
/// chunks than before): the size in hex, CRLF, the frames, CRLF (RFC 9112, section 7.1), into the connection's pipe,
/// which the response layer writes into too. No library does this: Kestrel offers no other way to write a chunked
/// body.</para>
/// <para>Only for a GET answered by Kestrel over HTTP/1.1 with chunked framing, after the headers and everything written
/// through the response were flushed (the response layer then holds nothing back), and only until the stream's writer
/// has stopped: the response layer writes the last chunk when the request ends. Anything else (HTTP/2, a test host)
/// keeps the response's own writer.</para>
/// </remarks>
internal static class ChunkedConnection
{
    // The most a chunk adds around its data: eight hex digits and two CRLFs.
    private const int MaxFraming = 12;

    /// <summary>
    /// The connection's pipe under <paramref name="context"/>'s response, when its frames may be written there as
    /// chunks (see the remarks); null otherwise. Call it once the response's headers and preamble are flushed.
    /// </summary>
    public static PipeWriter? Output(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) || !HttpProtocol.IsHttp11(request.Protocol)
            || !string.Equals(context.Response.Headers.TransferEncoding, "chunked", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return context.Features.Get<IConnectionTransportFeature>()?.Transport.Output;
    }

    /// <summary>Writes <paramref name="data"/> (not empty) as one chunk; the caller flushes.</summary>
    public static void Write(PipeWriter output, ReadOnlySpan<byte> data)
    {
        // A pipe gives at least the size asked for (a block of its own when a frame is larger than its pool's).
        var span = output.GetSpan(data.Length + MaxFraming);
        var written = Head(span, data.Length);
        data.CopyTo(span[written..]);
        written += data.Length;
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        output.Advance(written);
    }

    /// <summary>Starts a chunk of <paramref name="length"/> bytes (not 0), to be written next and ended by <see cref="WriteEnd"/>.</summary>
    public static void WriteStart(PipeWriter output, int length) => output.Advance(Head(output.GetSpan(MaxFraming), length));

    /// <summary>Ends the chunk <see cref="WriteStart"/> began.</summary>
    public static void WriteEnd(PipeWriter output) => output.Write("\r\n"u8);

    // The size in hex and CRLF; how many bytes that took.
    private static int Head(Span<byte> span, int length)
    {
        length.TryFormat(span, out var written, "x", CultureInfo.InvariantCulture);
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        return written;
    }
}
