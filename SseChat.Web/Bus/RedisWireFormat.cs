using System.Globalization;
using System.Text;
using System.Text.Json;
using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Bus;

/// <summary>
/// The whole wire format of a room on Redis, both ways: what the append script stores in the room's log and publishes,
/// what the presence scripts publish, and how a subscriber reads both back.
/// </summary>
/// <remarks>
/// A channel frame is the log id, a newline, the room's sequence number, a newline, then the event as compact JSON; a
/// presence notice has neither id nor number (the frame starts with two newlines). The scripts build no JSON: this type
/// gives them a template, and they fill its holes (<see cref="Hole"/> and a letter) with what only Redis knows: the log
/// id (<c>i</c>), the sequence number (<c>s</c>), the time (<c>t</c>), the presence version (<c>v</c>), the head count
/// (<c>c</c>) and the stored member (<c>m</c>), as <see cref="LuaFill"/> does and <see cref="Fill"/> mirrors.
/// </remarks>
internal static class RedisWireFormat
{
    /// <summary>Starts a hole in a template. JSON never holds this byte (it escapes control characters).</summary>
    public const char Hole = '\u0001';

    /// <summary>What the append script publishes before the message's JSON: its log id and sequence number.</summary>
    public const string MessageFramePrefix = "\u0001i\n\u0001s\n";

    /// <summary>
    /// The Lua function that fills a template's holes from a table keyed by their letters (values as text; a table
    /// replacement is used literally, whatever it holds). A script starts with it.
    /// </summary>
    public const string LuaFill = "local function fill(template, values) return (string.gsub(template, '\\1(%a)', values)) end\n";

    /// <summary>A message as the log stores it (field <c>e</c>) and as it follows <see cref="MessageFramePrefix"/>.</summary>
    public static string MessageBody(ChatEvent message) =>
        JsonSerializer.Serialize(
            new WireEvent((int)message.Kind, message.Room, message.Timestamp.ToUnixTimeMilliseconds(), message.Nick, message.Text,
                message.ClientMessageId, message.Author),
            WireJsonContext.Default.WireEvent);

    /// <summary>The frame of a presence notice of <paramref name="kind"/> in <paramref name="room"/>, with holes t, v, c and m.</summary>
    public static string NoticeTemplate(ChatEventKind kind, string room) =>
        string.Create(CultureInfo.InvariantCulture,
            $"\n\n{{\"k\":{(int)kind},\"r\":{JsonSerializer.Serialize(room, WireJsonContext.Default.String)},\"ts\":{Hole}t,\"pv\":{Hole}v,\"pc\":{Hole}c,\"m\":{Hole}m}}");

    /// <summary>A notice's whole frame, as a presence script would publish it.</summary>
    public static string NoticeFrame(ChatEvent notice)
    {
        var stamp = notice.Presence ?? throw new ArgumentException("A notice carries the room's presence stamp.", nameof(notice));
        return Fill(NoticeTemplate(notice.Kind, notice.Room), new Dictionary<char, string>
        {
            ['t'] = notice.Timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ['v'] = stamp.Version.ToString(CultureInfo.InvariantCulture),
            ['c'] = stamp.Count.ToString(CultureInfo.InvariantCulture),
            ['m'] = Member(notice.Nick, notice.Author ?? ""),
        });
    }

    /// <summary>Fills a template's holes as <see cref="LuaFill"/> does; a hole without a value stays as it is.</summary>
    public static string Fill(string template, IReadOnlyDictionary<char, string> values)
    {
        var sb = new StringBuilder(template.Length + 64);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == Hole && i + 1 < template.Length && char.IsAsciiLetter(template[i + 1]) && values.TryGetValue(template[i + 1], out var value))
            {
                sb.Append(value);
                i++;
                continue;
            }

            sb.Append(template[i]);
        }

        return sb.ToString();
    }

    /// <summary>How a person is stored in a room's presence and published in a notice: {"n": nick, "a": author tag}.</summary>
    public static string Member(string nick, string author) =>
        JsonSerializer.Serialize(new WireMember(nick, author), WireJsonContext.Default.WireMember);

    /// <exception cref="JsonException">not a stored member.</exception>
    public static PresentPerson ReadMember(string json)
    {
        var m = JsonSerializer.Deserialize(json, WireJsonContext.Default.WireMember) ?? throw new JsonException("Empty member.");
        return new PresentPerson(m.N, m.A);
    }

    /// <summary>
    /// Reads a channel frame: the event (with its log id; none for a notice) and the room sequence number the append
    /// script gave it (0 for a notice).
    /// </summary>
    /// <exception cref="JsonException">not a frame of this format.</exception>
    public static (ChatEvent Event, long Sequence) ReadFrame(string frame)
    {
        var first = frame.IndexOf('\n', StringComparison.Ordinal);
        var second = first < 0 ? -1 : frame.IndexOf('\n', first + 1);
        if (second < 0)
        {
            throw new JsonException("A channel frame starts with its id and sequence lines.");
        }

        LogId? id = null;
        long sequence = 0;
        if (first > 0)
        {
            id = LogId.TryParse(frame[..first], out var parsed) ? parsed : throw new JsonException("A channel frame's id is not a log id.");
            sequence = long.TryParse(frame.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new JsonException("A channel frame's sequence is not a number.");
        }

        return (ReadEvent(frame.AsSpan(second + 1), id), sequence);
    }

    /// <summary>Reads a log entry's body (field <c>e</c>) under its entry id.</summary>
    /// <exception cref="JsonException">not an event of this format.</exception>
    public static ChatEvent ReadLogEntry(LogId id, string body) => ReadEvent(body, id);

    private static ChatEvent ReadEvent(ReadOnlySpan<char> json, LogId? id)
    {
        var w = JsonSerializer.Deserialize(json, WireJsonContext.Default.WireEvent) ?? throw new JsonException("Empty event.");
        if (!Enum.IsDefined((ChatEventKind)w.K))
        {
            throw new JsonException($"Unknown event kind {w.K}.");
        }

        var at = DateTimeOffset.FromUnixTimeMilliseconds(w.Ts);
        if (w.M is { } member)
        {
            var stamp = new PresenceStamp(w.Pv ?? 0, w.Pc ?? 0);
            return new ChatEvent((ChatEventKind)w.K, w.R, member.N, "", at, Author: member.A, Presence: stamp);
        }

        return new ChatEvent((ChatEventKind)w.K, w.R, w.N ?? "", w.T ?? "", at, id, w.C, w.A);
    }
}
