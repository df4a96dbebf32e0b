using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// The Polly pipeline every publish goes through: short jittered retries of transient Redis failures inside a
/// total time bound, and a circuit breaker so a Redis outage answers "not sent" at once instead of piling up waits.
/// Retrying an append is safe because every message carries a client message id that the append script dedupes.
/// </summary>
internal static class BusResilience
{
    public const string PublishPipeline = "bus-publish";

    public static readonly TimeSpan TotalBound = TimeSpan.FromSeconds(2);

    /// <summary>How long the breaker refuses at once, by default, before it lets one operation try Redis again.</summary>
    public static readonly TimeSpan DefaultBreakDuration = TimeSpan.FromSeconds(1);

    public static void Configure(ResiliencePipelineBuilder builder) => Configure(builder, DefaultBreakDuration);

    public static void Configure(ResiliencePipelineBuilder builder, TimeSpan breakDuration)
    {
        var transient = new PredicateBuilder()
            .Handle<RedisConnectionException>()
            .Handle<RedisTimeoutException>()
            .Handle<TimeoutRejectedException>();

        builder
            .AddTimeout(TotalBound)
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 10,
                SamplingDuration = TimeSpan.FromSeconds(5),
                BreakDuration = breakDuration,
            })
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(50),
                MaxDelay = TimeSpan.FromMilliseconds(500),
                UseJitter = true,
            })
            // Each attempt's own bound: a command stuck on a half-open socket must not eat the whole budget.
            .AddTimeout(TimeSpan.FromMilliseconds(750));
    }

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
