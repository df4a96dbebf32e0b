using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.Unit;

/// <summary>The post limits' token buckets: a burst, a refusal that says how long to wait, a refill with time alone, and buckets back to full forgotten.</summary>
public sealed class PostLimitsTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_burst_is_allowed_then_refused_with_the_wait_and_time_alone_refills_it()
    {
        var buckets = new PostLimits.TokenBuckets(perSecond: 2, capacity: 3, _time);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(buckets.TryTake("ann", out _), $"post {i} of the burst");
        }

        Assert.False(buckets.TryTake("ann", out var wait));
        Assert.Equal(TimeSpan.FromSeconds(0.5), wait);
        Assert.True(buckets.TryTake("bob", out _), "another key has its own bucket");

        _time.Advance(TimeSpan.FromSeconds(0.4));
        Assert.False(buckets.TryTake("ann", out wait));
        Assert.Equal(0.1, wait.TotalSeconds, precision: 6);

        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(buckets.TryTake("ann", out _));
        Assert.False(buckets.TryTake("ann", out _), "one token came back, not more");

        _time.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(buckets.TryTake("ann", out _), $"post {i} after a long pause: the bucket is full, no fuller");
        }

        Assert.False(buckets.TryTake("ann", out _));
    }

    [Fact]
    public void A_refused_ask_takes_nothing()
    {
        var buckets = new PostLimits.TokenBuckets(perSecond: 1, capacity: 1, _time);
        Assert.True(buckets.TryTake("ann", out _));
        for (var i = 0; i < 10; i++)
        {
            Assert.False(buckets.TryTake("ann", out _));
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(buckets.TryTake("ann", out _), "refusals did not dig the bucket deeper");
    }

    [Fact]
    public void Buckets_full_again_are_forgotten_by_the_next_ask_after_the_sweep_interval()
    {
        var buckets = new PostLimits.TokenBuckets(perSecond: 1, capacity: 2, _time);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(buckets.TryTake($"person {i}", out _));
        }

        Assert.Equal(100, buckets.Count);
        _time.Advance(PostLimits.SweepEvery);
        Assert.True(buckets.TryTake("one more", out _));
        Assert.Equal(1, buckets.Count);
    }

    [Fact]
    public void A_growing_table_is_swept_before_the_interval_and_keeps_buckets_not_yet_full()
    {
        var buckets = new PostLimits.TokenBuckets(perSecond: 1, capacity: 1, _time);
        for (var i = 0; i < 1023; i++)
        {
            Assert.True(buckets.TryTake($"key {i}", out _));
        }

        _time.Advance(TimeSpan.FromSeconds(2));               // those are full again; the interval is 10 s
        Assert.True(buckets.TryTake("busy", out _));           // empty now: 1,024 buckets
        Assert.True(buckets.TryTake("another", out _));        // the table reached its sweep size: swept first

        Assert.Equal(2, buckets.Count);
        Assert.False(buckets.TryTake("busy", out _), "a bucket not yet full is remembered through a sweep");
    }
}
