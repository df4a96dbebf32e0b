using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The coalescing of one room's presence updates, on a fake clock: the notices come from the real in-process store
/// (through the tracker) and are handed to the fan-out one by one, as the hub does; what a stream gets is read from
/// its pipe.
/// </summary>
public sealed class PresenceFanOutTests : IAsyncLifetime
{
    private const string Room = "fan";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly Channel<ChatEvent> _notices = Channel.CreateUnbounded<ChatEvent>();
    private readonly Channel<SseItem<string>> _received = Channel.CreateUnbounded<SseItem<string>>();
    private readonly Pipe _pipe = new();
    private readonly CancellationTokenSource _stop = new();
    private InProcessChatBus _bus = null!;
    private PresenceTracker _tracker = null!;
    private RoomFanOut _hub = null!;
    private PresenceFanOut _fanOut = null!;
    private SseWriter _stream = null!;
    private IAsyncDisposable _subscription = null!;
    private Task _pump = null!;
    private Task _reader = null!;

    public async Task InitializeAsync()
    {
        var options = new ChatOptions { PresenceLeaveGrace = TimeSpan.Zero, PresenceListLimit = 5, PresenceCoalesceWindow = Window };
        _bus = new InProcessChatBus(Microsoft.Extensions.Options.Options.Create(options), _time, NullLogger<InProcessChatBus>.Instance);
        _tracker = TestPresence.Tracker(_bus, _time, options);
        var (renderer, metrics) = (new FragmentRenderer(), new ChatMetrics(_services.GetRequiredService<IMeterFactory>()));
        var frames = TestPresence.Frames(renderer, options);
        _hub = new RoomFanOut(Room, _bus, frames, metrics, TestPresence.FanOuts(_tracker, renderer, metrics, _time, options), new FlushPolicy(TimeSpan.Zero, 1), _time);
        _fanOut = new PresenceFanOut(_hub, _tracker, frames, Window, metrics, _time, NullLogger<PresenceFanOut>.Instance);
        _stream = new SseWriter(1024);
        _hub.Add(_stream);
        _pump = _stream.RunAsync(_pipe.Writer, _stop.Token);
        _reader = Task.Run(async () =>
        {
            await foreach (var item in SseParser.Create(_pipe.Reader.AsStream()).EnumerateAsync(_stop.Token))
            {
                await _received.Writer.WriteAsync(item);
            }
        });
        // The notices the store publishes; the test hands them to the fan-out, as the hub's subscription would.
        _subscription = await _bus.SubscribeAsync(Room, batch => { foreach (var e in batch) { _notices.Writer.TryWrite(e); } }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        _fanOut.Dispose();
        _stream.Complete();
        try
        {
            // A completed stream ends its pump, and the end of the pipe ends the reader: each within a bound, or the
            // test fails here instead of hanging the run.
            await _pump.WaitAsync(Wait.Default);
            await _pipe.Writer.CompleteAsync();
            await _reader.WaitAsync(Wait.Default);
        }
        finally
        {
            await _stop.CancelAsync(); // stops whatever is still running after a timeout
            _stop.Dispose();
            await _subscription.DisposeAsync();
            await _hub.DisposeAsync();
            await _bus.DisposeAsync();
            await _services.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_isolated_change_goes_out_at_once_and_a_burst_within_the_window_as_one_update_at_its_end()
    {
        var ann = Person("ann");
        await _tracker.EnterAsync(Room, ann, CancellationToken.None);
        await ForwardNoticesAsync(1);

        // The leading edge: the notice and the list at once, without the clock moving.
        var first = await NextAsync();
        var notice = await RootAsync(first);
        Assert.Equal(("user-joined", "ann"), (notice?.GetAttribute("data-kind"), notice?.GetAttribute("data-nick")));
        Assert.Equal(["ann"], await PeopleAsync(first));

        // Within the window: 30 join, one of them leaves again, and ann leaves.
        var people = Enumerable.Range(0, 30).Select(i => Person($"p{i:00}")).ToArray();
        foreach (var person in people)
        {
            await _tracker.EnterAsync(Room, person, CancellationToken.None);
        }

        await _tracker.LeaveAsync(Room, people[1]);
        await _tracker.LeaveAsync(Room, ann);
        await ForwardNoticesAsync(32);
        _time.Advance(Window);

        // The next update is the whole burst, as one line and one list: nothing went out in between.
        var burst = await NextAsync();
        var line = (await RootAsync(burst))!;
        Assert.Equal("presence-summary", line.GetAttribute("data-kind"));
        Assert.Equal(("29", "1"), (line.GetAttribute("data-joined"), line.GetAttribute("data-left")));
        Assert.StartsWith("p00, p02, p03 and 26 others joined · ann left", line.TextContent, StringComparison.Ordinal);
        Assert.Equal(["p00", "p02", "p03", "p04", "p05"], await PeopleAsync(burst)); // capped at the limit, in display order
        var list = (await ChatBrowser.Parse(burst.Data)).QuerySelector("#presence")!;
        Assert.Equal(("29", "and 24 more"), (list.QuerySelector(".count")!.TextContent, list.QuerySelector(".more")!.TextContent));

        // A window without changes closes: the next change goes out at once again.
        _time.Advance(Window);
        await _tracker.LeaveAsync(Room, people[0]);
        await ForwardNoticesAsync(1);
        var after = await NextAsync();
        var left = await RootAsync(after);
        Assert.Equal(("user-left", "p00"), (left?.GetAttribute("data-kind"), left?.GetAttribute("data-nick")));
        Assert.Equal("28", (await ChatBrowser.Parse(after.Data)).QuerySelector("#presence .count")!.TextContent);
    }

    [Fact]
    public async Task A_storm_costs_one_update_per_window_however_many_changes_it_has()
    {
        var rounds = Enumerable.Range(0, 5).Select(r => Enumerable.Range(0, 100).Select(i => Person($"n{r}{i:00}")).ToArray()).ToArray();
        for (var round = 0; round < rounds.Length; round++)
        {
            foreach (var person in rounds[round])
            {
                await _tracker.EnterAsync(Room, person, CancellationToken.None);
            }

            await ForwardNoticesAsync(rounds[round].Length);
            if (round > 0)
            {
                _time.Advance(Window); // the window that gathered this round's joins ends
            }

            // One update per round: the first join at once, then each window's joins together.
            var update = await NextAsync();
            var line = (await RootAsync(update))!;
            var expected = round switch { 0 => null, 1 => "199", _ => "100" };
            Assert.Equal((round == 0 ? "user-joined" : "presence-summary", expected), (line.GetAttribute("data-kind"), line.GetAttribute("data-joined")));
            var list = (await ChatBrowser.Parse(update.Data)).QuerySelector("#presence")!;
            Assert.Equal(((round + 1) * 100).ToString(System.Globalization.CultureInfo.InvariantCulture), list.QuerySelector(".count")!.TextContent);
            Assert.Equal(5, list.QuerySelectorAll("li").Length);
        }

        // The last window ends with nothing gathered: no update, and the next change goes out at once.
        _time.Advance(Window);
        await _tracker.EnterAsync(Room, Person("late"), CancellationToken.None);
        await ForwardNoticesAsync(1);
        var late = await NextAsync();
        var lateNotice = await RootAsync(late);
        Assert.Equal(("user-joined", "late"), (lateNotice?.GetAttribute("data-kind"), lateNotice?.GetAttribute("data-nick")));
        Assert.Equal("501", (await ChatBrowser.Parse(late.Data)).QuerySelector("#presence .count")!.TextContent);
    }

    private async Task ForwardNoticesAsync(int count)
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        for (var i = 0; i < count; i++)
        {
            _fanOut.Add(await _notices.Reader.ReadAsync(cts.Token));
        }
    }

    private async Task<SseItem<string>> NextAsync()
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        return await _received.Reader.ReadAsync(cts.Token);
    }

    private static async Task<AngleSharp.Dom.IElement?> RootAsync(SseItem<string> item) =>
        (await ChatBrowser.Parse($"<ol>{item.Data}</ol>")).QuerySelector("ol > li");

    private static async Task<string[]> PeopleAsync(SseItem<string> item) =>
        (await ChatBrowser.Parse($"<ol>{item.Data}</ol>")).QuerySelectorAll("#presence li .nick").Select(n => n.TextContent).ToArray();

    private static Member Person(string nick) => TestPresence.Person(nick);
}
