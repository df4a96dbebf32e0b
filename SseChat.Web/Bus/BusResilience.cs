using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// The Polly pipelines in front of Redis: short jittered retries of transient failures inside a total time bound. Writes
/// (appends, presence scripts) also go through a circuit breaker, so a Redis outage answers "not sent" at once instead
/// of piling up waits; retrying an append is safe because every message carries a client message id that the append
/// script dedupes. Log reads have no breaker (see <see cref="ConfigureReads"/>).
/// </summary>
internal static class BusResilience
{
    public const string PublishPipeline = "bus-publish";

    /// <summary>Log reads (gap repair, resume, history): the same bounds and retries, and no circuit breaker.</summary>
    public const string ReadPipeline = "bus-read";

    public static readonly TimeSpan TotalBound = TimeSpan.FromSeconds(2);

    /// <summary>How long the breaker refuses at once, by default, before it lets one operation try Redis again.</summary>
    public static readonly TimeSpan DefaultBreakDuration = TimeSpan.FromSeconds(1);

    public static void Configure(ResiliencePipelineBuilder builder) => Configure(builder, DefaultBreakDuration);

    public static void Configure(ResiliencePipelineBuilder builder, TimeSpan breakDuration)
    {
        builder
            .AddTimeout(TotalBound)
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = Transient,
                FailureRatio = 0.5,
                MinimumThroughput = 10,
                SamplingDuration = TimeSpan.FromSeconds(5),
                BreakDuration = breakDuration,
            });
        AddRetries(builder);
    }

    /// <summary>
    /// The pipeline of log reads: no breaker, because a read that repairs a room's gap must not be refused for failures
    /// of other operations; the subscription backs off on its own when the log cannot be read.
    /// </summary>
    public static void ConfigureReads(ResiliencePipelineBuilder builder)
    {
        builder.AddTimeout(TotalBound);
        AddRetries(builder);
    }

    private static PredicateBuilder<object> Transient => new PredicateBuilder()
        .Handle<RedisConnectionException>()
        .Handle<RedisTimeoutException>()
        .Handle<TimeoutRejectedException>();

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

    /// <summary>
    /// Runs a Redis operation through the pipeline; a failure that means "unavailable" (not the caller's cancellation,
    /// not a bug) becomes the exception <paramref name="unavailable"/> makes, after it has logged and counted it.
    /// </summary>
    public static async Task<T> RunAsync<T>(
        this ResiliencePipeline pipeline,
        Func<CancellationToken, ValueTask<T>> action,
        Func<Exception, BusUnavailableException> unavailable,
        CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(action, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw unavailable(ex);
        }
    }

    /// <summary>True for the failures that mean "the bus is unavailable", as opposed to a caller's cancellation or a bug.</summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutRejectedException or BrokenCircuitException or IsolatedCircuitException;
}
