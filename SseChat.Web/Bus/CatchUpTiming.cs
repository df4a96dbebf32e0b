namespace SseChat.Web.Bus;

/// <summary>When a room subscription reads the log on its own: on a timer, after a failed read, after a reconnect.</summary>
/// <param name="Interval">The regular catch-up, for a gap that no later message reveals.</param>
/// <param name="RetryFirst">The first wait after a catch-up failed; it doubles up to <paramref name="RetryMax"/>.</param>
/// <param name="AfterRestore">A second catch-up this long after a reconnect, once the re-subscription is surely active.</param>
internal sealed record CatchUpTiming(TimeSpan Interval, TimeSpan RetryFirst, TimeSpan RetryMax, TimeSpan AfterRestore)
{
    public static CatchUpTiming For(TimeSpan interval) =>
        new(interval, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
}
