using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace SseChat.Web.Chat;

/// <summary>The rules for what users may send. Every value that comes from a browser passes here before it goes anywhere.</summary>
public static class Validation
{
    public const int MaxTextLength = 2000;
    public const int MaxNickLength = 32;
    public const int MaxRoomLength = 40;

    /// <summary>What a room name may be, in words, for every answer that refuses one.</summary>
    public const string RoomRule = "A room name is 1–40 characters: lowercase letters a–z, digits 0–9 and '-'.";

    /// <summary>Trims the text and checks it: 1–2,000 characters, no control characters but newline and tab.</summary>
    public static bool TryValidateText(string? raw, [NotNullWhen(true)] out string? text, [NotNullWhen(false)] out string? error)
    {
        text = null;
        var trimmed = NormalizeNewlines((raw ?? string.Empty).Trim());
        if (trimmed.Length == 0)
        {
            error = "Type a message before sending.";
            return false;
        }

        if (trimmed.Length > MaxTextLength)
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"The message is {trimmed.Length:N0} characters long; the limit is {MaxTextLength:N0}.");
            return false;
        }

        if (!IsWellFormedUtf16(trimmed))
        {
            error = "The message is not valid UTF-8 text.";
            return false;
        }

        foreach (var c in trimmed)
        {
            if (char.IsControl(c) && c != '\n' && c != '\t')
            {
                error = string.Create(CultureInfo.InvariantCulture,
                    $"The message contains a control character (U+{(int)c:X4}); only newlines and tabs are allowed.");
                return false;
            }
        }

        text = trimmed;
        error = null;
        return true;
    }

    /// <summary>Trims the nickname and checks it: 1–32 letters, digits, spaces, '-', '_' or '.'.</summary>
    public static bool TryValidateNick(string? raw, [NotNullWhen(true)] out string? nick, [NotNullWhen(false)] out string? error)
    {
        nick = null;
        var trimmed = (raw ?? string.Empty).Trim();
        if (trimmed.Length == 0)
        {
            error = "Choose a nickname.";
            return false;
        }

        if (trimmed.Length > MaxNickLength)
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"The nickname is {trimmed.Length} characters long; the limit is {MaxNickLength}.");
            return false;
        }

        foreach (var rune in trimmed.EnumerateRunes())
        {
            if (!(Rune.IsLetterOrDigit(rune) || rune.Value is ' ' or '-' or '_' or '.'))
            {
                error = "A nickname may hold only letters, digits, spaces, '-', '_' and '.'.";
                return false;
            }
        }

        if (!IsWellFormedUtf16(trimmed))
        {
            error = "The nickname is not valid UTF-8 text.";
            return false;
        }

        nick = trimmed;
        error = null;
        return true;
    }

    /// <summary>
    /// Checks a room name as it comes, untrimmed (it is a path segment): 1–40 of a–z, 0–9 and '-'. Nothing else is
    /// allowed because the name becomes part of URLs, Redis keys and channel names, and must mean one room only.
    /// </summary>
    public static bool TryValidateRoom(string? raw, [NotNullWhen(true)] out string? room, [NotNullWhen(false)] out string? error)
    {
        room = null;
        if (string.IsNullOrEmpty(raw) || raw.Length > MaxRoomLength || !raw.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            error = RoomRule;
            return false;
        }

        room = raw;
        error = null;
        return true;
    }

    /// <summary>Browsers send CRLF in form fields; we store LF so one line break is one character everywhere.</summary>
    private static string NormalizeNewlines(string s) =>
        s.Contains('\r', StringComparison.Ordinal) ? s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : s;

    /// <summary>
    /// Lone surrogates cannot be encoded back to UTF-8, and U+FFFD is what the form reader puts where the
    /// request held bytes that were not UTF-8: either means the client sent text we cannot keep faithfully.
    /// </summary>
    private static bool IsWellFormedUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c) || c == '\uFFFD')
            {
                return false;
            }
        }

        return true;
    }
}
