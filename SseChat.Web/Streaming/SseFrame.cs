using SseChat.Web.Bus;

namespace SseChat.Web.Streaming;

/// <summary>
/// One encoded SSE event, shared by every stream it goes to, and what it tells a stream it has now seen: the log id of
/// the message it carries (<see cref="Id"/>), or the presence version its list reflects (<see cref="PresenceVersion"/>).
/// A stream writes a frame only when it is newer than what it has seen. A frame without bytes only moves that mark (see
/// <see cref="SeenThrough"/>).
/// </summary>
internal readonly record struct SseFrame(byte[] Bytes, LogId? Id = null, long? PresenceVersion = null)
{
    /// <summary>Writes nothing; the stream counts messages up to <paramref name="id"/> or presence up to a version as seen.</summary>
    public static SseFrame SeenThrough(LogId? id = null, long? presenceVersion = null) => new([], id, presenceVersion);
}
