using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>
/// How many SSE streams one client address (<c>Limits:StreamsPerAddress</c>) and the whole instance
/// (<c>Limits:StreamsPerInstance</c>) may hold open: a permit from each, held for the stream's life. The limiters are
/// the framework's (<see cref="System.Threading.RateLimiting"/>); the stream endpoint takes the permits itself rather
/// than through the rate-limiting middleware, because a middleware that awaits the stream stays suspended for its
/// whole life: the middleware's frame and its combined lease cost every idle stream about 0.5 KB.
/// </summary>
internal sealed class StreamLimits : IDisposable
{
    public const string TooManyStreams = "Too many open streams; try again shortly.";

    private readonly PartitionedRateLimiter<string> _perAddress;
    private readonly ConcurrencyLimiter _perInstance;

    public StreamLimits(IOptions<LimitsOptions> options)
    {
        var limits = options.Value;
        _perAddress = PartitionedRateLimiter.Create<string, string>(address =>
            RateLimitPartition.GetConcurrencyLimiter(address, _ => Concurrency(limits.StreamsPerAddress)));
        _perInstance = new ConcurrencyLimiter(Concurrency(limits.StreamsPerInstance));
    }

    /// <summary>Takes a permit for one more stream from the client's address; false (and nothing held) when either limit is reached.</summary>
    public bool TryAcquire(HttpContext context, out Permit permit)
    {
        permit = default;
        var address = _perAddress.AttemptAcquire(RequestLimits.Address(context));
        if (!address.IsAcquired)
        {
            address.Dispose();
            return false;
        }

        var instance = _perInstance.AttemptAcquire();
        if (!instance.IsAcquired)
        {
            instance.Dispose();
            address.Dispose();
            return false;
        }

        permit = new Permit(address, instance);
        return true;
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _perInstance.Dispose();
    }

    private static ConcurrencyLimiterOptions Concurrency(int permits) => new() { PermitLimit = permits, QueueLimit = 0 };

    /// <summary>The two leases one open stream holds; disposing it gives both back.</summary>
    internal readonly struct Permit(RateLimitLease address, RateLimitLease instance) : IDisposable
    {
        public void Dispose()
        {
            instance?.Dispose();
            address?.Dispose();
        }
    }
}
