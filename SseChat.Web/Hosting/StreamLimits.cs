using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>
/// How many SSE streams one client address (<c>Limits:StreamsPerAddress</c>) and the whole instance
/// (<c>Limits:StreamsPerInstance</c>) may hold open, a place in each held for the stream's life: a count per address
/// (dropped when its last stream closes) and one for the instance. Counts, not the framework's partitioned concurrency
/// limiter: that limiter wakes a thread every 100 ms for as long as it exists, about a third of what an idle instance
/// did (BENCHMARKS.md, "What limits what"), for what is here a number under a lock. The stream endpoint takes them
/// itself rather than through the rate-limiting middleware, because a middleware that awaits the stream stays
/// suspended for its whole life: the middleware's frame and its combined lease cost every idle stream about 0.5 KB.
/// </summary>
internal sealed class StreamLimits
{
    public const string TooManyStreams = "Too many open streams; try again shortly.";

    private readonly Dictionary<string, Address> _perAddress = [];
    private readonly Lock _gate = new();
    private readonly int _addressLimit;
    private readonly int _instanceLimit;
    private int _open;

    public StreamLimits(IOptions<LimitsOptions> options)
    {
        _addressLimit = options.Value.StreamsPerAddress;
        _instanceLimit = options.Value.StreamsPerInstance;
    }

    /// <summary>The addresses that hold at least one stream (for tests).</summary>
    internal int Addresses
    {
        get
        {
            lock (_gate)
            {
                return _perAddress.Count;
            }
        }
    }

    /// <summary>Takes a place for one more stream from the client's address; false (and nothing held) when either limit is reached.</summary>
    public bool TryAcquire(HttpContext context, out Permit permit)
    {
        permit = default;
        if (Interlocked.Increment(ref _open) > _instanceLimit)
        {
            Interlocked.Decrement(ref _open);
            return false;
        }

        var key = RequestLimits.Address(context);
        Address address;
        lock (_gate)
        {
            if (!_perAddress.TryGetValue(key, out address!))
            {
                address = new Address(key);
                _perAddress.Add(key, address);
            }

            if (address.Streams >= _addressLimit)
            {
                Interlocked.Decrement(ref _open);
                return false;
            }

            address.Streams++;
        }

        permit = new Permit(address, this);
        return true;
    }

    private void Release(Address address)
    {
        lock (_gate)
        {
            if (--address.Streams == 0)
            {
                _perAddress.Remove(address.Key);
            }
        }

        Interlocked.Decrement(ref _open);
    }

    /// <summary>One address's count, shared by its streams' permits (so an open stream holds no object of its own here).</summary>
    internal sealed class Address(string key)
    {
        public string Key { get; } = key;

        public int Streams { get; set; }
    }

    /// <summary>What one open stream holds: its place in its address's count and in the instance's. Dispose it once.</summary>
    internal readonly struct Permit(Address address, StreamLimits limits) : IDisposable
    {
        public void Dispose() => limits?.Release(address);
    }
}
