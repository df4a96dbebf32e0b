using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>
/// How many SSE streams one client address (<c>Limits:StreamsPerAddress</c>) and the whole instance
/// (<c>Limits:StreamsPerInstance</c>) may hold open, a place in each held for the stream's life: per address, the
/// framework's partitioned concurrency limiter (<see cref="System.Threading.RateLimiting"/>); for the instance, a count
/// (its limiter would add a lease object per open stream and nothing else). The stream endpoint takes them itself
/// rather than through the rate-limiting middleware, because a middleware that awaits the stream stays suspended for
/// its whole life: the middleware's frame and its combined lease cost every idle stream about 0.5 KB.
/// </summary>
internal sealed class StreamLimits : IDisposable
{
    public const string TooManyStreams = "Too many open streams; try again shortly.";

    private readonly PartitionedRateLimiter<string> _perAddress;
    private readonly int _perInstance;
    private int _open;

    public StreamLimits(IOptions<LimitsOptions> options)
    {
        var limits = options.Value;
        _perAddress = PartitionedRateLimiter.Create<string, string>(address =>
            RateLimitPartition.GetConcurrencyLimiter(address, _ => Concurrency(limits.StreamsPerAddress)));
        _perInstance = limits.StreamsPerInstance;
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

        if (Interlocked.Increment(ref _open) > _perInstance)
        {
            Interlocked.Decrement(ref _open);
            address.Dispose();
            return false;
        }

        permit = new Permit(address, this);
        return true;
    }

    public void Dispose() => _perAddress.Dispose();

    private static ConcurrencyLimiterOptions Concurrency(int permits) => new() { PermitLimit = permits, QueueLimit = 0 };

    /// <summary>What one open stream holds: its address's lease and its place in the instance's count. Dispose it once.</summary>
    internal readonly struct Permit(RateLimitLease address, StreamLimits instance) : IDisposable
    {
        public void Dispose()
        {
            if (instance is not null)
            {
                Interlocked.Decrement(ref instance._open);
            }

            address?.Dispose();
        }
    }
}
