using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;

namespace SseChat.LoadDriver;

/// <summary>
/// The text of a load message, shared with the k6 scripts (load-tests/lib/chat-contract.js):
/// <c>lt:&lt;run&gt;-&lt;seq&gt;:&lt;sent epoch ms&gt;</c>, optionally followed by a space and padding. Letters, digits,
/// '-' and ':' pass the chat's HTML encoder unchanged, so a reader finds the marker verbatim inside the fragment.
/// </summary>
internal static class LoadText
{
    public const string Marker = "lt:";

    private static ReadOnlySpan<byte> MarkerBytes => "lt:"u8;

    public static string Format(string run, long seq, long sentEpochMs, int payloadBytes = 0)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Marker}{run}-{seq}:{sentEpochMs}");
        return payloadBytes > text.Length + 1
            ? string.Concat(text, " ", new string('x', payloadBytes - text.Length - 1))
            : text;
    }

    /// <summary>The client message id that goes with a load message: unique per run and sequence number.</summary>
    public static string ClientMessageId(string run, long seq) =>
        string.Create(CultureInfo.InvariantCulture, $"lt-{run}-{seq}");

    /// <summary>A random run id: 8 lowercase letters and digits.</summary>
    public static string NewRunId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return RandomNumberGenerator.GetString(alphabet, 8);
    }

    /// <summary>
    /// Finds this run's marker in an event's data (UTF-8) without allocating. False for other runs' messages,
    /// notices and anything malformed.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, ReadOnlySpan<byte> run, out long seq, out long sentEpochMs)
    {
        seq = 0;
        sentEpochMs = 0;
        var at = data.IndexOf(MarkerBytes);
        if (at < 0)
        {
            return false;
        }

        var rest = data[(at + MarkerBytes.Length)..];
        if (!rest.StartsWith(run) || rest.Length <= run.Length || rest[run.Length] != (byte)'-')
        {
            return false;
        }

        rest = rest[(run.Length + 1)..];
        if (!Utf8Parser.TryParse(rest, out seq, out var used) || used == 0 || seq < 0 || used >= rest.Length || rest[used] != (byte)':')
        {
            return false;
        }

        rest = rest[(used + 1)..];
        return Utf8Parser.TryParse(rest, out sentEpochMs, out used) && used > 0;
    }
}
