using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace SseChat.Web.Streaming;

/// <summary>
/// Encodes SSE frames with the framework's <see cref="SseFormatter"/>, once per event per instance; every
/// connection then writes the same bytes. (TypedResults.ServerSentEvents would format each item again for
/// every connection, which is the fan-out cost this design avoids.)
/// </summary>
internal static class SseFrames
{
    /// <summary>An unnamed event (htmx swaps it) whose data is an HTML fragment; multi-line data becomes several data: lines.</summary>
    public static Task<byte[]> FragmentAsync(string html, string? id) =>
        EncodeAsync(new SseItem<string>(html) { EventId = id });

    /// <summary>A named control event (htmx dispatches it as a DOM event and never swaps it).</summary>
    public static Task<byte[]> ControlAsync(string eventType, string data, TimeSpan? reconnectionInterval = null) =>
        EncodeAsync(new SseItem<string>(data, eventType) { ReconnectionInterval = reconnectionInterval });

    private static async Task<byte[]> EncodeAsync(SseItem<string> item)
    {
        using var buffer = new MemoryStream(256);
        await SseFormatter.WriteAsync(One(item), buffer).ConfigureAwait(false);
        return buffer.ToArray();
    }

#pragma warning disable CS1998 // a one-item async sequence, which SseFormatter takes
    private static async IAsyncEnumerable<SseItem<string>> One(SseItem<string> item, [EnumeratorCancellation] CancellationToken cancellationToken = default)
#pragma warning restore CS1998
    {
        yield return item;
    }
}
