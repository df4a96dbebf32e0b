using System.IO.Pipelines;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>The fan-out renders and encodes each event once per instance, however many streams are open.</summary>
public sealed class RoomHubTests
{
    [Fact]
    public async Task One_event_is_rendered_once_and_every_stream_gets_the_same_bytes()
    {
        var renderer = new CountingRenderer();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), TimeProvider.System, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        var metrics = new ChatMetrics(meters);
        var hub = new RoomHub("lobby", bus, renderer, metrics, TestPresence.FanOuts(bus, renderer, metrics, TimeProvider.System));
        await hub.EnsureSubscribedAsync(CancellationToken.None);
        var connections = Enumerable.Range(0, 50).Select(i => new StreamConnection($"n{i}", 16)).ToArray();
        var pipes = connections.Select(_ => new Pipe()).ToArray();
        using var stop = new CancellationTokenSource(Wait.Default);
        var pumps = connections.Select((c, i) => c.PumpAsync(pipes[i].Writer, stop.Token)).ToArray();
        foreach (var connection in connections)
        {
            hub.Add(connection);
        }

        await bus.PublishMessageAsync(new ChatEvent(ChatEventKind.Message, "lobby", "ann", "once", DateTimeOffset.UnixEpoch, ClientMessageId: "c1"), CancellationToken.None);
        var frames = new List<byte[]>();
        foreach (var pipe in pipes)
        {
            var read = await pipe.Reader.ReadAsync(stop.Token);
            frames.Add(System.Buffers.BuffersExtensions.ToArray(read.Buffer));
            pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        foreach (var connection in connections)
        {
            connection.Complete();
        }

        await Task.WhenAll(pumps);
        Assert.Equal(1, renderer.Calls);
        Assert.All(frames, f => Assert.Equal(frames[0], f));
        Assert.Contains("once", System.Text.Encoding.UTF8.GetString(frames[0]), StringComparison.Ordinal);
    }

    private sealed class CountingRenderer : FragmentRenderer
    {
        private int _calls;

        public int Calls => _calls;

        public override string Render(ChatEvent e)
        {
            Interlocked.Increment(ref _calls);
            return base.Render(e);
        }
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}
