using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Keeps StackExchange.Redis's Sentinel support from stalling requests. While it follows a failover it blocks
/// thread-pool threads (a timer re-reads the primary every second and waits synchronously for the reconfiguration,
/// which itself needs pool threads to finish). With the pool's default minimum (one thread per core) a 2-core
/// instance then answered nothing for 2 to 8 seconds after the old primary came back; posts that should have been a
/// quick 503 timed out. A higher minimum lets the pool add threads at once instead of one every half second.
/// </summary>
internal static class SentinelThreads
{
    /// <summary>Enough for the blocked reconfigurations of both connections (bus and acks) and the requests meanwhile.</summary>
    public const int MinimumWorkers = 32;

    public static void Reserve(ConfigurationOptions options)
    {
        if (string.IsNullOrEmpty(options.ServiceName))
        {
            return;
        }

        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workers < MinimumWorkers)
        {
            ThreadPool.SetMinThreads(MinimumWorkers, completionPorts);
        }
    }
}
