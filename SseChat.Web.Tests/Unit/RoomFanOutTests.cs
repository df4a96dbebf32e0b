using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The fan-out renders and encodes each event once per instance, however many streams are open; a large room writes
/// what arrives within the flush delay to each stream in one write, a small one writes at once.
/// </summary>
public sealed class RoomFanOutTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(10);

    private static readonly FlushPolicy Defaults = new(Delay, 250);

    private static readonly TimeSpan CutWindow = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task One_event_is_rendered_once_and_every_stream_gets_the_same_bytes()
    {
        var renderer = new CountingRenderer();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), TimeProvider.System, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        var metrics = new ChatMetrics(meters);
        await using var hub = new RoomFanOut("lobby", bus, TestPresence.Frames(renderer), metrics, TestPresence.FanOuts(bus, renderer, metrics, TimeProvider.System), Defaults, TimeProvider.System);
        await hub.EnsureSubscribedAsync(CancellationToken.None);
        var connections = Enumerable.Range(0, 50).Select(_ => new SseWriter(16)).ToArray();
        var pipes = connections.Select(_ => new Pipe()).ToArray();
        using var stop = new CancellationTokenSource(Wait.Default);
        var runs = connections.Select((c, i) => c.RunAsync(pipes[i].Writer, stop.Token)).ToArray();
        foreach (var connection in connections)
        {
            hub.Add(connection);
        }

        await bus.PublishMessageAsync(new ChatEvent(ChatEventKind.Message, "lobby", "ann", "once", DateTimeOffset.UnixEpoch, ClientMessageId: "c1"), CancellationToken.None);
        var frames = new List<byte[]>();
        foreach (var pipe in pipes)
        {
            var read = await pipe.Reader.ReadAsync(stop.Token);
            frames.Add(read.Buffer.ToArray());
            pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        foreach (var connection in connections)
        {
            connection.Complete();
        }

        await Task.WhenAll(runs);
        Assert.Equal(1, renderer.Calls);
        Assert.All(frames, f => Assert.Equal(frames[0], f));
        Assert.Contains("once", Encoding.UTF8.GetString(frames[0]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_large_room_writes_what_arrives_within_the_flush_delay_to_each_stream_in_one_write()
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(Delay, GatherFrom: 3), time);
        var (connections, pipes, runs, stop) = Open(hub, 3);

        hub.Broadcast(Frame("one", 1));
        hub.Broadcast(Frame("two", 2));
        hub.Broadcast(Frame("three", 3));
        time.Advance(Delay - TimeSpan.FromMilliseconds(1));
        Assert.All(pipes, p => Assert.False(p.Reader.TryRead(out _), "nothing is written before the delay has passed"));

        time.Advance(TimeSpan.FromMilliseconds(1));
        foreach (var pipe in pipes)
        {
            // One read sees all three: they were written and flushed together.
            var read = await pipe.Reader.ReadAsync(stop.Token);
            Assert.Equal("one\ntwo\nthree\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
            pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        await EndAsync(connections, runs, stop);
    }

    [Theory]
    [InlineData(10, 4)] // a room smaller than the threshold
    [InlineData(0, 1)] // no delay: every room
    public async Task A_small_room_or_one_without_a_flush_delay_writes_each_frame_at_once(int delayMs, int gatherFrom)
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(TimeSpan.FromMilliseconds(delayMs), gatherFrom), time);
        var (connections, pipes, runs, stop) = Open(hub, 3);

        for (var i = 1; i <= 3; i++)
        {
            hub.Broadcast(Frame($"f{i}", i));
            AssertRead(pipes, $"f{i}\n", "written and flushed by the broadcast itself");
        }

        await EndAsync(connections, runs, stop);
    }

    [Fact]
    public async Task Frames_broadcast_together_reach_each_stream_of_a_small_room_in_one_write()
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(TimeSpan.Zero, 1), time);
        var (connections, pipes, runs, stop) = Open(hub, 3);

        hub.Broadcast([Frame("a", 1), Frame("b", 2), Frame("c", 3)]);

        AssertRead(pipes, "a\nb\nc\n", "one write and one flush for the whole batch, by the broadcast itself");
        await EndAsync(connections, runs, stop);
    }

    [Fact]
    public async Task A_room_is_behind_when_most_of_its_streams_have_frames_waiting_past_the_bound_not_when_one_has()
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(TimeSpan.Zero, 1000), time);
        // Streams 0–2 read nothing yet (their first flush waits once 8 bytes are in the pipe); stream 3 keeps up.
        var (connections, pipes, runs, stop) = Open(
            hub, 4, i => i < 3 ? new Pipe(new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 4)) : new Pipe(), time);

        hub.Broadcast([Frame("a frame that fills the pipe", 1)]);
        hub.Broadcast([Frame("b", 2)]);
        time.Advance(TimeSpan.FromSeconds(3));

        Assert.True(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "frame 2 has waited 3 s in 3 of the 4 streams");
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(5), CutWindow), "nothing has waited 5 s");

        // Two of them read: one stream alone that reads nothing does not make the room late for everyone.
        for (var i = 0; i < 2; i++)
        {
            var read = await pipes[i].Reader.ReadAsync(stop.Token);
            pipes[i].Reader.AdvanceTo(read.Buffer.End);
        }

        await Wait.UntilAsync(() => Task.FromResult(connections[0].WaitingFor == TimeSpan.Zero && connections[1].WaitingFor == TimeSpan.Zero),
            Wait.Default, "the two streams that read have written what waited");
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "only 1 of 4 streams is behind");

        var last = await pipes[2].Reader.ReadAsync(stop.Token);
        pipes[2].Reader.AdvanceTo(last.Buffer.End);
        await EndAsync(connections, runs, stop);
    }

    [Theory]
    [InlineData(5, 3, true)]
    [InlineData(4, 2, false)]
    [InlineData(7, 4, true)]
    public async Task A_room_is_behind_by_its_majority_wherever_the_late_streams_are_in_it(int count, int late, bool behind)
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(TimeSpan.Zero, 1000), time);
        // The last `late` streams read nothing (their first flush waits once 8 bytes are in the pipe); the first ones keep up.
        var (connections, pipes, runs, stop) = Open(
            hub, count, i => i >= count - late ? new Pipe(new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 4)) : new Pipe(), time);

        hub.Broadcast([Frame("a frame that fills the pipe", 1)]);
        hub.Broadcast([Frame("b", 2)]);
        time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(behind, hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow));
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(5), CutWindow), "nothing has waited 5 s");

        for (var i = count - late; i < count; i++)
        {
            var read = await pipes[i].Reader.ReadAsync(stop.Token);
            pipes[i].Reader.AdvanceTo(read.Buffer.End);
        }

        await EndAsync(connections, runs, stop);
    }

    [Fact]
    public async Task A_room_is_behind_while_several_of_its_streams_were_just_cut_for_falling_behind_not_after_one()
    {
        var time = new FakeTimeProvider();
        await using var bus = new InProcessChatBus(Options.Create(new ChatOptions()), time, NullLogger<InProcessChatBus>.Instance);
        using var meters = new TestMeterFactory();
        await using var hub = Hub(bus, meters, new FlushPolicy(TimeSpan.Zero, 1000), time);
        // 96 streams: one in 32 of them is 3, more than the least of 2.
        var (connections, _, runs, stop) = Open(hub, 96, time: time);

        Assert.False(hub.NoteSlowReaderCut(CutWindow));
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "one slow reader does not make the room busy");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(hub.NoteSlowReaderCut(CutWindow));
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "2 cuts of 96 streams are fewer than one in 32");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(hub.NoteSlowReaderCut(CutWindow), "the third cut makes the room behind");
        Assert.True(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "3 cuts within the window");

        // The first cut leaves the window: 2 are left.
        time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.False(hub.IsBehind(TimeSpan.FromSeconds(2), CutWindow), "the first cut is older than the window");
        await EndAsync(connections, runs, stop);
    }

    private static void AssertRead(Pipe[] pipes, string expected, string because)
    {
        foreach (var pipe in pipes)
        {
            Assert.True(pipe.Reader.TryRead(out var read), because);
            Assert.Equal(expected, Encoding.UTF8.GetString(read.Buffer.ToArray()));
            pipe.Reader.AdvanceTo(read.Buffer.End);
        }
    }

    private static RoomFanOut Hub(InProcessChatBus bus, TestMeterFactory meters, FlushPolicy flushing, TimeProvider time)
    {
        var (renderer, metrics) = (new FragmentRenderer(), new ChatMetrics(meters));
        return new RoomFanOut("lobby", bus, TestPresence.Frames(renderer), metrics, TestPresence.FanOuts(bus, renderer, metrics, time), flushing, time);
    }

    private static SseFrame Frame(string text, long sequence) => new(Encoding.UTF8.GetBytes(text + "\n"), new LogId(1, sequence));

    private static (SseWriter[] Connections, Pipe[] Pipes, Task[] Runs, CancellationTokenSource Stop) Open(
        RoomFanOut hub, int count, Func<int, Pipe>? pipe = null, TimeProvider? time = null)
    {
        var connections = Enumerable.Range(0, count).Select(_ => new SseWriter(16, time)).ToArray();
        var pipes = Enumerable.Range(0, count).Select(i => pipe?.Invoke(i) ?? new Pipe()).ToArray();
        var stop = new CancellationTokenSource(Wait.Default);
        var runs = connections.Select((c, i) => c.RunAsync(pipes[i].Writer, stop.Token)).ToArray();
        foreach (var connection in connections)
        {
            hub.Add(connection);
        }

        return (connections, pipes, runs, stop);
    }

    private static async Task EndAsync(SseWriter[] connections, Task[] runs, CancellationTokenSource stop)
    {
        foreach (var connection in connections)
        {
            connection.Complete();
        }

        await Task.WhenAll(runs);
        stop.Dispose();
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
