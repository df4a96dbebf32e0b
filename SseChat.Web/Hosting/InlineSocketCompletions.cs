namespace SseChat.Web.Hosting;

/// <summary>
/// On Linux, .NET's socket engine hands every socket operation that completes (a post's request arriving, a Redis
/// reply or pub/sub message) from its event thread to the thread pool, unless
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>: then it runs the continuation on the event thread (one per
/// core). Each hand-off wakes a pool thread, and a woken pool thread wakes another in case more work follows; on a
/// server whose work per message is a few microseconds, those wake-ups cost as much as the work (BENCHMARKS.md, "What
/// limits what"). The engine reads the variable once, from the environment, when the first socket opens, so it is set
/// here, before the host exists. The chat's request paths await their I/O, so nothing blocks an event thread for
/// long. An operator's own value (<c>0</c> turns it off) is kept.
/// </summary>
internal static class InlineSocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline completions on unless the environment already says either way.</summary>
    public static void UnlessSet()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
