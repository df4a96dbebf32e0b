using System.Text.Json;
using System.Text.Json.Serialization;
using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Bus;

/// <summary>
/// The wire form of an event on Redis: compact JSON, without the log id (Redis assigns it when the message is
/// appended, and the pub/sub payload carries it in front: "{id}\n{json}", empty id for presence notices).
/// Presence notices are also written by the presence Lua scripts (RedisPresenceStore), which build the same JSON.
/// </summary>
internal static class EventCodec
{
    public static string Serialize(ChatEvent e) =>
        JsonSerializer.Serialize(
            new WireEvent((int)e.Kind, e.Room, e.Nick, e.Text, e.Timestamp.ToUnixTimeMilliseconds(), e.ClientMessageId, e.Author,
                e.Presence?.Version, e.Presence?.Count),
            WireJsonContext.Default.WireEvent);

    /// <summary>How a person is stored in a room's presence hash and listed in a notice: {"n": nick, "a": author tag}.</summary>
    public static string SerializeMember(string nick, string author) =>
        JsonSerializer.Serialize(new WireMember(nick, author), WireJsonContext.Default.WireMember);

    public static PresentPerson DeserializeMember(string json)
    {
        var m = JsonSerializer.Deserialize(json, WireJsonContext.Default.WireMember) ?? throw new JsonException("Empty member.");
        return new PresentPerson(m.N, m.A);
    }

    public static ChatEvent Deserialize(string json, string? id)
    {
        var w = JsonSerializer.Deserialize(json, WireJsonContext.Default.WireEvent)
            ?? throw new JsonException("Empty event payload.");
        if (!Enum.IsDefined((ChatEventKind)w.K))
        {
            throw new JsonException($"Unknown event kind {w.K}.");
        }

        var presence = w.Pv is { } version ? new PresenceStamp(version, w.Pc ?? 0) : null;
        return new ChatEvent((ChatEventKind)w.K, w.R, w.N, w.T, DateTimeOffset.FromUnixTimeMilliseconds(w.Ts), id, w.C, w.A, presence);
    }

    /// <summary>
    /// Splits a pub/sub payload "{id}\n{seq}\n{json}" into the event (with its log id) and the room sequence number
    /// the append script gave it; presence notices have neither ("\n\n{json}", sequence 0).
    /// </summary>
    public static (ChatEvent Event, long Sequence) DeserializeChannelPayload(string payload)
    {
        var first = payload.IndexOf('\n', StringComparison.Ordinal);
        var second = first < 0 ? -1 : payload.IndexOf('\n', first + 1);
        if (second < 0)
        {
            throw new JsonException("Channel payload lacks its id and sequence lines.");
        }

        var id = first == 0 ? null : payload[..first];
        var sequence = second == first + 1 ? 0 : long.Parse(payload.AsSpan(first + 1, second - first - 1), System.Globalization.CultureInfo.InvariantCulture);
        return (Deserialize(payload[(second + 1)..], id), sequence);
    }

    /// <summary>
    /// A presence notice as it travels on a room's channel (no id, no sequence). The presence script writes this form
    /// itself in Lua; tests hold the two to the same shape.
    /// </summary>
    public static string NoticePayload(ChatEvent notice) => "\n\n" + Serialize(notice);
}

internal sealed record WireEvent(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("r")] string R,
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("t")] string T,
    [property: JsonPropertyName("ts")] long Ts,
    [property: JsonPropertyName("c")] string? C,
    [property: JsonPropertyName("a")] string? A = null,
    [property: JsonPropertyName("pv")] long? Pv = null,
    [property: JsonPropertyName("pc")] int? Pc = null);

internal sealed record WireMember(
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("a")] string A);

// Absent fields stay absent: a message carries no presence, a notice no client id.
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireEvent))]
[JsonSerializable(typeof(WireMember))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
