using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using StackExchange.Redis;

namespace SseChat.Web.Hosting;

/// <summary>Ready when the bus can carry a message: Redis answers PING in time; the in-process bus always can.</summary>
internal sealed class BusHealthCheck(IOptions<RedisOptions> options, IServiceProvider services, TimeProvider time) : IHealthCheck
{
    /// <summary>Well under a probe's own timeout (Docker's is 3 s in compose.yaml), so a probe gets an answer, not a hang.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.Enabled)
        {
            return HealthCheckResult.Healthy("in-process bus");
        }

        try
        {
            // Resolved here, not injected: in in-process mode there is no multiplexer to create.
            var redis = services.GetRequiredService<IConnectionMultiplexer>();
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(Timeout, time, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis answered PING in {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis did not answer PING", ex);
        }
    }
}
