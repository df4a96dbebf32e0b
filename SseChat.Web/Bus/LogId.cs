using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SseChat.Web.Bus;

/// <summary>
/// A room-log id in Redis Stream form, "{milliseconds}-{sequence}". Both buses hand out ids of this form, so
/// ordering and resume work the same in either mode.
/// </summary>
public readonly record struct LogId(long Milliseconds, long Sequence) : IComparable<LogId>
{
    public int CompareTo(LogId other)
    {
        var c = Milliseconds.CompareTo(other.Milliseconds);
        return c != 0 ? c : Sequence.CompareTo(other.Sequence);
    }

    public static bool operator <(LogId a, LogId b) => a.CompareTo(b) < 0;

    public static bool operator >(LogId a, LogId b) => a.CompareTo(b) > 0;

    public static bool operator <=(LogId a, LogId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(LogId a, LogId b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");

    /// <summary>The id of an entry this app wrote itself; default (0-0) for anything else.</summary>
    public static LogId ParseOrDefault(string? s) => TryParse(s, out var id) ? id : default;

    public static bool TryParse([NotNullWhen(true)] string? s, out LogId id)
    {
        id = default;
        if (string.IsNullOrEmpty(s) || s.Length > 41)
        {
            return false;
        }

        var dash = s.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(s.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(s.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        id = new LogId(ms, seq);
        return true;
    }
}
