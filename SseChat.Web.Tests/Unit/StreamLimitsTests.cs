using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.Unit;

/// <summary>The stream counts: a place per stream, per address and per instance, given back once, and nothing kept for an address with no stream.</summary>
public sealed class StreamLimitsTests
{
    private static StreamLimits Limits(int perAddress, int perInstance) =>
        new(Options.Create(new LimitsOptions { StreamsPerAddress = perAddress, StreamsPerInstance = perInstance }));

    private static DefaultHttpContext From(string address)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpConnectionFeature>(new HttpConnectionFeature { RemoteIpAddress = IPAddress.Parse(address) });
        return context;
    }

    [Fact]
    public void An_address_gets_its_places_and_no_more_and_a_closed_stream_gives_its_place_back()
    {
        var limits = Limits(perAddress: 2, perInstance: 100);

        Assert.True(limits.TryAcquire(From("203.0.113.1"), out var first));
        Assert.True(limits.TryAcquire(From("203.0.113.1"), out var second));
        Assert.False(limits.TryAcquire(From("203.0.113.1"), out _));
        Assert.True(limits.TryAcquire(From("203.0.113.2"), out var other));

        first.Dispose();
        Assert.True(limits.TryAcquire(From("203.0.113.1"), out var again));

        foreach (var permit in new[] { second, other, again })
        {
            permit.Dispose();
        }

        Assert.Equal(0, limits.Addresses);
    }

    [Fact]
    public void The_instance_cap_counts_every_address_and_a_refusal_holds_nothing()
    {
        var limits = Limits(perAddress: 10, perInstance: 2);

        Assert.True(limits.TryAcquire(From("203.0.113.1"), out var a));
        Assert.True(limits.TryAcquire(From("203.0.113.2"), out var b));
        Assert.False(limits.TryAcquire(From("203.0.113.3"), out _));
        Assert.Equal(2, limits.Addresses);

        a.Dispose();
        Assert.True(limits.TryAcquire(From("203.0.113.3"), out var c));
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, limits.Addresses);
    }
}
