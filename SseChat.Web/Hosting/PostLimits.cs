using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Hosting;

/// <summary>
/// How fast posts may come: every <c>POST</c> takes a token from its client address's bucket
/// (<c>Limits:AddressPostsPerSecond</c>, a burst of five seconds' worth), and a post to an endpoint marked with
/// <see cref="LimitPostsPerPersonAttribute"/> one from its person's too (address + nickname cookie;
/// <c>Limits:PostsPerSecond</c>, <c>Limits:PostBurst</c>). An empty bucket answers a readable 429 with
/// <c>Retry-After</c> (<see cref="RequestLimits.UseSseChatPostLimits"/>); the text is kept by the form.
/// <para>
/// Hand-written instead of ASP.NET Core's rate-limiting middleware because of one thing that middleware cannot be
/// told: each partitioned limiter it holds (one for the global limit, one it makes for its policies whatever they are)
/// runs a 100 ms timer for its whole life, so every instance woke a thread twenty times a second while nobody posted,
/// most of an idle instance's wake-ups (BENCHMARKS.md, "What limits what"). A bucket here is two numbers that are
/// brought up to date when a post asks (tokens grow with the time since the last ask), and buckets that are full again
/// are dropped by a sweep that runs on an ask, at most every <see cref="SweepEvery"/> or when the table has doubled.
/// </para>
/// </summary>
internal sealed class PostLimits
{
    /// <summary>How often, at most, buckets back to full are forgotten (unless the table doubles first).</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(10);

    private readonly TokenBuckets _perAddress;
    private readonly TokenBuckets _perPerson;
    private readonly ChatMetrics _metrics;

    public PostLimits(IOptions<LimitsOptions> options, TimeProvider time, ChatMetrics metrics)
    {
        var limits = options.Value;
        _perAddress = new TokenBuckets(limits.AddressPostsPerSecond, Math.Max(1, (int)Math.Ceiling(limits.AddressPostsPerSecond * 5)), time);
        _perPerson = new TokenBuckets(limits.PostsPerSecond, limits.PostBurst, time);
        _metrics = metrics;
    }

    /// <summary>Takes this post's tokens; false, with how long to wait, when a bucket is empty (nothing is taken from the person's then).</summary>
    public bool TryTake(HttpContext context, bool perPerson, out TimeSpan retryAfter)
    {
        var address = RequestLimits.Address(context);
        if (!_perAddress.TryTake(address, out retryAfter))
        {
            _metrics.RefusedRate("address");
            return false;
        }

        if (perPerson && !_perPerson.TryTake($"{address}|{context.Request.Cookies[Nickname.CookieName]}", out retryAfter))
        {
            _metrics.RefusedRate("person");
            return false;
        }

        return true;
    }

    /// <summary>Token buckets by key, each refilled when it is asked; one lock for the table (an ask is a few arithmetic steps).</summary>
    internal sealed class TokenBuckets(double perSecond, int capacity, TimeProvider time)
    {
        private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
        private readonly Lock _gate = new();
        private long _lastSweep = time.GetTimestamp();
        private int _sweepAt = MinimumSweepCount;

        private const int MinimumSweepCount = 1024;

        /// <summary>How many buckets are remembered (a key whose bucket is full again may still be, until a sweep).</summary>
        internal int Count
        {
            get
            {
                lock (_gate)
                {
                    return _buckets.Count;
                }
            }
        }

        public bool TryTake(string key, out TimeSpan retryAfter)
        {
            var now = time.GetTimestamp();
            lock (_gate)
            {
                if (_buckets.Count >= _sweepAt || time.GetElapsedTime(_lastSweep, now) >= SweepEvery)
                {
                    Sweep(now);
                }

                ref var bucket = ref CollectionsMarshal.GetValueRefOrAddDefault(_buckets, key, out var known);
                var tokens = known ? Refilled(bucket, now) : capacity;
                if (tokens >= 1)
                {
                    bucket = new Bucket(tokens - 1, now);
                    retryAfter = TimeSpan.Zero;
                    return true;
                }

                bucket = new Bucket(tokens, now);
                retryAfter = TimeSpan.FromSeconds((1 - tokens) / perSecond);
                return false;
            }
        }

        private double Refilled(Bucket bucket, long now) =>
            Math.Min(capacity, bucket.Tokens + (time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * perSecond));

        // A full bucket is the same as none: forget it. Removing while enumerating is allowed for Dictionary.
        private void Sweep(long now)
        {
            foreach (var (key, bucket) in _buckets)
            {
                if (Refilled(bucket, now) >= capacity)
                {
                    _buckets.Remove(key);
                }
            }

            _lastSweep = now;
            _sweepAt = Math.Max(MinimumSweepCount, 2 * _buckets.Count);
        }

        private readonly record struct Bucket(double Tokens, long Stamp);
    }
}

/// <summary>Marks an endpoint (a page model or a route handler's metadata) whose posts also count against the person's bucket.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
internal sealed class LimitPostsPerPersonAttribute : Attribute;
