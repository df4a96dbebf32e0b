using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>Rooms are named by anyone: a hub (and its subscription) lives while streams use it, and a while after.</summary>
public sealed class RoomFanOutRegistryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private InProcessChatBus _bus = null!;
    private RoomFanOutRegistry _hubs = null!;

    public Task InitializeAsync()
    {
        _bus = new InProcessChatBus(Options.Create(new ChatOptions()), _time, NullLogger<InProcessChatBus>.Instance);
        var (renderer, metrics) = (new FragmentRenderer(), new ChatMetrics(_services.GetRequiredService<IMeterFactory>()));
        _hubs = new RoomFanOutRegistry(_bus, TestPresence.Frames(renderer), metrics, TestPresence.FanOuts(_bus, renderer, metrics, _time), Options.Create(new ChatOptions()), _time, NullLogger<RoomFanOutRegistry>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _hubs.DisposeAsync();
        await _bus.DisposeAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task A_hub_nobody_uses_is_dropped_after_the_idle_lifetime()
    {
        var hub = _hubs.Acquire("short-lived");
        await hub.EnsureSubscribedAsync(CancellationToken.None);
        _hubs.Release(hub);

        _time.Advance(RoomFanOutRegistry.IdleLifetime - TimeSpan.FromSeconds(1));
        Assert.Contains(hub, _hubs.All);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(hub, _hubs.All);
        Assert.NotSame(hub, _hubs.Acquire("short-lived")); // a later visitor gets a fresh one
    }

    [Fact]
    public void A_hub_in_use_stays_and_a_return_within_the_idle_lifetime_keeps_it()
    {
        var first = _hubs.Acquire("busy");
        var second = _hubs.Acquire("busy");
        Assert.Same(first, second);

        _hubs.Release(first);
        _time.Advance(RoomFanOutRegistry.IdleLifetime * 2);
        Assert.Contains(first, _hubs.All); // the second stream still uses it

        _hubs.Release(second);
        _time.Advance(RoomFanOutRegistry.IdleLifetime / 2);
        Assert.Same(first, _hubs.Acquire("busy"));
        _time.Advance(RoomFanOutRegistry.IdleLifetime * 2);
        Assert.Contains(first, _hubs.All);
    }
}
