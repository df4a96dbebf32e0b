using System.Text.Json.Serialization;

namespace SseChat.Web.Bus;

/// <summary>
/// An event as <see cref="RedisWireFormat"/> writes it: a message has the nick, text, client id and author tag; a notice
/// has the stored member (<c>m</c>), the presence version and the head count. Absent fields stay absent.
/// </summary>
internal sealed record WireEvent(
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("r")] string R,
    [property: JsonPropertyName("ts")] long Ts,
    [property: JsonPropertyName("n")] string? N = null,
    [property: JsonPropertyName("t")] string? T = null,
    [property: JsonPropertyName("c")] string? C = null,
    [property: JsonPropertyName("a")] string? A = null,
    [property: JsonPropertyName("pv")] long? Pv = null,
    [property: JsonPropertyName("pc")] int? Pc = null,
    [property: JsonPropertyName("m")] WireMember? M = null);

/// <summary>A person as the presence store keeps them and a notice carries them.</summary>
internal sealed record WireMember(
    [property: JsonPropertyName("n")] string N,
    [property: JsonPropertyName("a")] string A);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WireEvent))]
[JsonSerializable(typeof(WireMember))]
[JsonSerializable(typeof(string))]
internal sealed partial class WireJsonContext : JsonSerializerContext;
