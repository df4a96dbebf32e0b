using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// The one place that builds the SSE frames streams are sent: a message, a presence update or list, and the control
/// events (<c>ping</c>, <c>reset</c>, <c>reconnect</c>). Each is rendered and encoded once per instance; every stream
/// then writes the same bytes. Chat content is an unnamed event (htmx swaps it) whose data is an HTML fragment, one
/// <c>data:</c> line per line; control events are named (htmx only dispatches them).
/// </summary>
/// <remarks>
/// Encoded by hand, synchronously, into one array: the framework's <see cref="System.Net.ServerSentEvents.SseFormatter"/>
/// writes only asynchronously to a stream, which made the whole fan-out asynchronous for nothing. The bytes are the
/// ones it writes (event, data lines, id, retry, blank line); unit tests hold the two to the same output.
/// </remarks>
internal sealed class SseFrames(FragmentRenderer renderer, IOptions<ChatOptions> options)
{
    /// <summary>How soon a client told to reconnect (on shutdown) should come back: to another instance, so at once.</summary>
    public static readonly TimeSpan ReconnectHint = TimeSpan.FromMilliseconds(250);

    /// <summary>The first event of every stream: headers go out with it, and it carries the <c>retry:</c> hint.</summary>
    public SseFrame Hello { get; } = new(Encode("ping", "", id: null, options.Value.ReconnectDelay));

    /// <summary>The heartbeat (SSE comment lines would do, but htmx and the framework's parser see only events).</summary>
    public SseFrame Ping { get; } = new(Encode("ping", "", id: null, retry: null));

    /// <summary>The last event of a stream ended by a shutdown: come back now, to another instance.</summary>
    public SseFrame Reconnect { get; } = new(Encode("reconnect", "", id: null, ReconnectHint));

    public SseFrame Message(ChatEvent message) =>
        new(Encode(null, renderer.Render(message), message.Id, retry: null), message.Id);

    /// <summary>The room's list of people alone (a stream that opens for someone already in the room).</summary>
    public SseFrame PresenceList(PresenceSnapshot snapshot) =>
        new(Encode(null, renderer.RenderPresence(snapshot, outOfBand: true), id: null, retry: null), PresenceVersion: snapshot.Version);

    /// <summary>One presence update (its line and the list); null when there is nothing to show.</summary>
    public SseFrame? PresenceUpdate(PresenceChanges changes, PresenceSnapshot? list)
    {
        var html = renderer.RenderPresenceUpdate(changes.Joined, changes.Left, changes.At, list);
        return html.Length == 0 ? null : new SseFrame(Encode(null, html, id: null, retry: null), PresenceVersion: changes.Version);
    }

    /// <summary>
    /// The resume point fell out of the log: the page reloads its history, which holds every message up to
    /// <paramref name="newest"/>, so live copies of those are not sent as well.
    /// </summary>
    public static SseFrame Reset(LogId? newest) => new(ResetBytes, newest);

    private static readonly byte[] ResetBytes = Encode("reset", "history", id: null, retry: null);

    /// <summary>One event in the framework's formatting: an <c>event:</c> line when named, a <c>data:</c> line per line, then id and retry.</summary>
    public static byte[] Encode(string? eventType, string data, LogId? id, TimeSpan? retry)
    {
        var sb = new StringBuilder(data.Length + 64);
        if (eventType is not null)
        {
            sb.Append("event: ").Append(eventType).Append('\n');
        }

        var start = 0;
        for (var i = 0; i <= data.Length; i++)
        {
            if (i < data.Length && data[i] is not ('\n' or '\r'))
            {
                continue;
            }

            sb.Append("data: ").Append(data, start, i - start).Append('\n');
            if (i + 1 < data.Length && data[i] == '\r' && data[i + 1] == '\n')
            {
                i++;
            }

            start = i + 1;
        }

        if (id is { } logId)
        {
            sb.Append("id: ").Append(logId.ToString()).Append('\n');
        }

        if (retry is { } interval)
        {
            sb.Append("retry: ").Append(((long)interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.Append('\n').ToString());
    }
}
