using System.Text.Json;
using System.Text.Json.Serialization;
using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>
/// The wire form of an event on Redis: compact JSON, without the log id (Redis assigns it when the message is
/// appended, and the pub/sub payload carries it in front: "{id}\n{json}", empty id for presence notices).
/// </summary>
internal static class EventCodec
{
    public static string Serialize(ChatEvent e) =>
        JsonSerializer.Serialize(
            new WireEvent((int)e.Kind, e.Room, e.Nick, e.Text, e.Timestamp.ToUnixTimeMilliseconds(), e.ClientMessageId),
            WireJsonContext.Default.WireEvent);

    public static ChatEvent Deserialize(string json, string? id)
    {
        var w = JsonSerializer.Deserialize(json, WireJsonContext.Default.WireEvent)
            ?? throw new JsonException("Empty event payload.");
        if (!Enum.IsDefined((ChatEventKind)w.K))
        {
            throw new JsonException($"Unknown event kind {w.K}.");
        }

        return new ChatEvent((ChatEventKind)w.K, w.R, w.N, w.T, DateTimeOffset.FromUnixTimeMilliseconds(w.Ts), id, w.C);
    }

    /// <summary>Splits a pub/sub payload "{id}\n{json}" into its id (null when empty) and the JSON.</summary>
    public static ChatEvent DeserializeChannelPayload(string payload)
    {
        var nl = payload.IndexOf('\n', StringComparison.Ordinal);
        if (nl < 0)
        {
            throw new JsonException("Channel payload has no id separator.");
        }

        var id = nl == 0 ? null : payload[..nl];
        return Deserialize(payload[(nl + 1)..], id);
    }
}

internal sealed record WireEvent(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("r")] string R,
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("t")] string T,
    [property: JsonPropertyName("ts")] long Ts,
    [property: JsonPropertyName("c")] string? C);

[JsonSerializable(typeof(WireEvent))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
