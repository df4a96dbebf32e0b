using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// The two Polly pipelines in front of Redis, both short jittered retries of transient failures inside a total time
/// bound. <see cref="Writes"/> (appends, presence changes) also has a circuit breaker, so a Redis outage answers "not
/// sent" at once instead of piling up waits; retrying an append is safe because every message carries a client message
/// id that the append script dedupes. <see cref="Reads"/> (log and presence reads) has none: a read that repairs a
/// room's gap must never be refused because failed writes opened a breaker.
/// </summary>
internal static class RedisResilience
{
    public const string Writes = "redis-writes";

    public const string Reads = "redis-reads";

    public static readonly TimeSpan TotalBound = TimeSpan.FromSeconds(2);

    /// <summary>How long the breaker refuses at once, by default, before it lets one operation try Redis again.</summary>
    public static readonly TimeSpan DefaultBreakDuration = TimeSpan.FromSeconds(1);

    public static void ConfigureWrites(ResiliencePipelineBuilder builder) => ConfigureWrites(builder, DefaultBreakDuration);

    public static void ConfigureWrites(ResiliencePipelineBuilder builder, TimeSpan breakDuration)
    {
        // The breaker sees each operation's final outcome, the total bound's timeout included: a Redis that hangs (every
        // attempt times out) opens it as surely as one that refuses connections.
        builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = Transient,
                FailureRatio = 0.5,
                MinimumThroughput = 10,
                SamplingDuration = TimeSpan.FromSeconds(5),
                BreakDuration = breakDuration,
            })
            .AddTimeout(TotalBound);
        AddRetries(builder);
    }

    /// <summary>The same bounds and retries, and no breaker: a room subscription backs off on its own when reads fail.</summary>
    public static void ConfigureReads(ResiliencePipelineBuilder builder)
    {
        builder.AddTimeout(TotalBound);
        AddRetries(builder);
    }

    private static PredicateBuilder<object> Transient => new PredicateBuilder()
        .Handle<RedisConnectionException>()
        .Handle<RedisTimeoutException>()
        .Handle<TimeoutRejectedException>()
        .Handle<RedisServerException>(ex => TransientReplies.Any(r => ex.Message.StartsWith(r, StringComparison.Ordinal)));

    /// <summary>
    /// Refusals that pass within a moment, while a cluster or a Sentinel setup changes: a slot being migrated with the
    /// room's keys split between two nodes (TRYAGAIN), a shard without a primary until its replica is promoted
    /// (CLUSTERDOWN), a demoted primary the client still writes to (READONLY), a server loading its data (LOADING), a
    /// primary set with <c>min-replicas-to-write</c> while no replica follows it (NOREPLICAS).
    /// </summary>
    private static readonly string[] TransientReplies = ["TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "LOADING", "NOREPLICAS"];

    private static void AddRetries(ResiliencePipelineBuilder builder) =>
        builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = Transient,
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(50),
                MaxDelay = TimeSpan.FromMilliseconds(500),
                UseJitter = true,
            })
            // Each attempt's own bound: a command stuck on a half-open socket must not eat the whole budget.
            .AddTimeout(TimeSpan.FromMilliseconds(750));
}
