using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using SseChat.Web.Bus;
using SseChat.Web.Hosting;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// A reader that stops reading must not slow anyone else: its bounded queue fills, it is cut off, and it resumes
/// from its Last-Event-ID without losing a message.
/// </summary>
public sealed class SlowClientTests
{
    /// <summary>The bound we promise: with a stalled reader present, every other reader gets each message within this.</summary>
    private static readonly TimeSpan DeliveryBound = TimeSpan.FromSeconds(2);

    private const int MessageCount = 600;

    [Fact]
    public async Task A_stalled_reader_is_cut_off_without_delaying_others_and_resumes_without_loss()
    {
        var cuts = new CutWatch(2001);
        using var app = SmallBuffers(new() { ["Chat:StreamQueueCapacity"] = "16" }, services => services.AddSingleton<ILoggerProvider>(cuts));
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var reader = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await reader.WaitForAsync(e => e.EventType == "ping", "reader open");
        using var stalledStream = await StalledStream.OpenAsync(app.BaseAddress);
        var stalled = stalledStream.Response;

        var text = new string('x', 1900);
        var worst = TimeSpan.Zero;
        for (var i = 0; i < MessageCount; i++)
        {
            var sent = Stopwatch.StartNew();
            using var response = await browser.PostMessageAsync(app.BaseAddress, page, $"{i}:{text}", cmid: ResumeTests.Cmid());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await reader.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{i}:x", StringComparison.Ordinal), $"message {i}", DeliveryBound);
            worst = sent.Elapsed > worst ? sent.Elapsed : worst;
        }

        Assert.True(worst < DeliveryBound, $"slowest delivery {worst}");
        await cuts.Cut.WaitAsync(Wait.Default); // logged as cut for its full queue

        await ResumesWithoutLossAsync(stalled, browser, app.BaseAddress, MessageCount);
    }

    [Fact]
    public async Task Once_several_readers_of_a_room_are_cut_for_falling_behind_posts_are_refused_as_busy_until_they_can_resume_and_they_lose_nothing()
    {
        // Two readers fall behind together, as when a room runs faster than its readers take it: each is cut, and the
        // posts that follow would push their resume points out of the log. So the room refuses posts (503 "busy")
        // for the reconnect delay and the lag bound after the cuts, then takes them again. (One cut alone does not:
        // the first test's 600 posts are all accepted beside one stalled reader.)
        var cuts = new CutWatch(2001, cuts: 2);
        using var app = SmallBuffers(
            new() { ["Chat:StreamQueueCapacity"] = "16", ["Chat:ReconnectDelay"] = "00:00:00.500", ["Chat:MaxDeliveryLag"] = "00:00:01" },
            services => services.AddSingleton<ILoggerProvider>(cuts));
        using var paused = RoomPauses(app);
        await PostsAreRefusedUntilTwoCutReadersCanResumeAsync(app, cuts);
        // Counted for operators, as a pause every instance took.
        Assert.Contains(paused.GetMeasurementSnapshot(), m => m.Tags["recorded"] is true);
    }

    [Fact]
    public async Task When_the_pause_for_every_instance_cannot_be_recorded_the_instance_that_cut_its_readers_still_refuses_its_own_posts()
    {
        // Redis takes the posts but not the room's pause (it failed for that one write): the instance that cut its
        // readers logs it and refuses the room's posts itself, from its own count of cuts, so its readers still resume
        // from the log losing nothing. The bus here records no pause at all: every 503 comes from that count.
        var cuts = new CutWatch(2001, cuts: 2);
        var pauseFailed = new CutWatch(2009);
        using var app = SmallBuffers(
            new() { ["Chat:StreamQueueCapacity"] = "16", ["Chat:ReconnectDelay"] = "00:00:00.500", ["Chat:MaxDeliveryLag"] = "00:00:01" },
            services =>
            {
                services.AddSingleton<ILoggerProvider>(cuts);
                services.AddSingleton<ILoggerProvider>(pauseFailed);
                services.AddSingleton<IChatBus>(sp => new PauseFailingBus(sp.GetRequiredService<InProcessChatBus>()));
            });
        using var paused = RoomPauses(app);
        await PostsAreRefusedUntilTwoCutReadersCanResumeAsync(app, cuts);
        await pauseFailed.Cut.WaitAsync(Wait.Default); // logged: the pause for every instance was not recorded
        var counted = paused.GetMeasurementSnapshot();
        Assert.NotEmpty(counted); // and counted, as not recorded
        Assert.All(counted, m => Assert.False((bool)m.Tags["recorded"]!));
    }

    /// <summary>
    /// A reader and two stalled streams on <paramref name="app"/>: posts go on until one is refused as busy after the
    /// two cuts, then are taken again, and both stalled readers resume from the log losing nothing.
    /// </summary>
    private static async Task PostsAreRefusedUntilTwoCutReadersCanResumeAsync(ChatAppFactory app, CutWatch cuts)
    {
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var reader = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await reader.WaitForAsync(e => e.EventType == "ping", "reader open");
        using var first = await StalledStream.OpenAsync(app.BaseAddress);
        using var second = await StalledStream.OpenAsync(app.BaseAddress);

        var accepted = await PostUntilBusyThenAgainAsync(browser, app.BaseAddress, page, reader, cuts);

        await ResumesWithoutLossAsync(first.Response, browser, app.BaseAddress, accepted);
        await ResumesWithoutLossAsync(second.Response, browser, app.BaseAddress, accepted);
    }

    /// <summary>The app's <c>ssechat.rooms.paused</c> counter, from now on.</summary>
    private static MetricCollector<long> RoomPauses(ChatAppFactory app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), ChatMetrics.MeterName, "ssechat.rooms.paused");

    /// <summary>A bus that takes messages but cannot record a room's pause, as when Redis fails that one write.</summary>
    private sealed class PauseFailingBus(InProcessChatBus inner) : DelegatingChatBus(inner)
    {
        public override ValueTask RefuseMessagesAsync(string room, TimeSpan duration, CancellationToken cancellationToken) =>
            ValueTask.FromException(new BusUnavailableException("the pause could not be recorded"));
    }

    [Fact]
    public async Task At_shutdown_a_stalled_reader_is_cut_at_half_the_timeout_so_the_instance_stops_in_time()
    {
        // A queue so large that the stalled stream is never cut for falling behind: only the shutdown can end it.
        var app = SmallBuffers(new() { ["Chat:StreamQueueCapacity"] = "100000", ["Chat:ShutdownTimeout"] = "00:00:10" });
        try
        {
            using var browser = new ChatBrowser();
            var page = await browser.GetPageAsync(app.BaseAddress);
            using var stalledStream = await StalledStream.OpenAsync(app.BaseAddress);
            var stalled = stalledStream.Response;
            await using var witness = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
            var text = new string('x', 1900);
            for (var i = 0; i < 400; i++)
            {
                using var response = await browser.PostMessageAsync(app.BaseAddress, page, $"{i}:{text}", cmid: ResumeTests.Cmid());
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // Everything went out to a reader that reads: the stalled stream's writer is stuck on its client by now.
            await witness.WaitForAsync(e => e.Kind == "message" && e.Data.Contains(">399:x", StringComparison.Ordinal), "the last message");

            var stopping = Stopwatch.StartNew();
            await app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            // The stalled stream is cut at half the timeout (5 s); waiting for it, the host would take the whole 10 s.
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(8.5), $"the instance took {stopping.Elapsed} to stop");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_reader_that_takes_nothing_in_a_quiet_room_is_cut_off_once_frames_waited_the_stall_bound_and_resumes_without_loss()
    {
        // A queue so large that the stalled stream is never cut for its count: only the heartbeat's stall check ends it
        // (its bound: one interval, at least 5 s).
        var cuts = new CutWatch(2007); // logged as cut for taking nothing, not for a full queue
        using var app = SmallBuffers(
            new() { ["Chat:StreamQueueCapacity"] = "100000", ["Chat:HeartbeatInterval"] = "00:00:01" },
            services => services.AddSingleton<ILoggerProvider>(cuts));
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        using var stalledStream = await StalledStream.OpenAsync(app.BaseAddress);
        var stalled = stalledStream.Response;
        await using var witness = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));

        const int count = 200;
        var text = new string('x', 1900);
        for (var i = 0; i < count; i++)
        {
            using var response = await browser.PostMessageAsync(app.BaseAddress, page, $"{i}:{text}", cmid: ResumeTests.Cmid());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await witness.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{count - 1}:x", StringComparison.Ordinal), "the last message");
        // Nothing more is posted: the room is quiet, the stalled stream's queue far from full.
        await cuts.Cut.WaitAsync(Wait.Default);

        await ResumesWithoutLossAsync(stalled, browser, app.BaseAddress, count);
    }

    /// <summary>
    /// The stalled client reads what reached it, which must end (the server cut the stream off before it got all
    /// <paramref name="count"/> messages), resumes from the last id it got, and then has every message exactly once, in
    /// order.
    /// </summary>
    internal static async Task ResumesWithoutLossAsync(HttpResponseMessage stalled, ChatBrowser browser, Uri baseAddress, int count)
    {
        var got = new List<SseItem<string>>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                await foreach (var item in SseParser.Create(await stalled.Content.ReadAsStreamAsync(cts.Token)).EnumerateAsync(cts.Token))
                {
                    got.Add(item);
                }
            }
            catch (IOException)
            {
                // The server aborted the connection: the expected way for a cut-off stream to end.
            }
            catch (HttpRequestException)
            {
            }
        }

        var received = got.Where(e => e.Data.Contains("data-kind=\"message\"", StringComparison.Ordinal)).ToList();
        Assert.InRange(received.Count, 0, count - 1); // it was cut off before it got everything

        var lastId = received.LastOrDefault().EventId;
        await using var resumed = await SseClient.ConnectAsync(browser.Client(baseAddress), "/events",
            r => { if (lastId is not null) { r.Headers.Add("Last-Event-ID", lastId); } });
        await resumed.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{count - 1}:x", StringComparison.Ordinal), "the last message", TimeSpan.FromSeconds(30));

        var all = received.Select(e => ChatModes.TextOf(new SseEvent(e.EventType, e.Data, e.EventId)))
            .Concat(resumed.Messages.Select(ChatModes.TextOf))
            .Select(t => int.Parse(t[..t.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, count), all);
    }

    /// <summary>
    /// Posts numbered messages of 1,900 characters to <paramref name="postTo"/>, each once the one before reached
    /// <paramref name="reader"/>, until one is refused, which must be a 503 "Busy" that comes after the cuts
    /// <paramref name="cuts"/> waits for. Then posts that message again (same client id) until it is taken, the pause
    /// over. Returns how many messages were taken in all, numbered from 0.
    /// </summary>
    internal static async Task<int> PostUntilBusyThenAgainAsync(ChatBrowser browser, Uri postTo, ChatPage page, SseClient reader, CutWatch cuts)
    {
        var text = new string('x', 1900);
        var accepted = 0;
        HttpResponseMessage? busy = null;
        // A few dozen posts fill the stalled streams.
        while (busy is null && accepted < MessageCount)
        {
            var response = await browser.PostMessageAsync(postTo, page, $"{accepted}:{text}", cmid: ResumeTests.Cmid());
            if (response.StatusCode != HttpStatusCode.OK)
            {
                busy = response;
                break;
            }

            response.Dispose();
            await reader.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{accepted}:x", StringComparison.Ordinal), $"message {accepted}");
            accepted++;
        }

        using (busy)
        {
            Assert.True(busy is not null, $"no post refused in {accepted}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy!.StatusCode);
            Assert.NotNull(busy.Headers.RetryAfter);
            Assert.Contains("Busy", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await cuts.Cut.WaitAsync(Wait.Default); // the streams were cut for their full queues

        var cmid = ResumeTests.Cmid();
        await Wait.UntilAsync(async () =>
        {
            using var response = await browser.PostMessageAsync(postTo, page, $"{accepted}:{text}", cmid: cmid);
            return response.StatusCode == HttpStatusCode.OK;
        }, Wait.Default, "a post accepted again");
        await reader.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{accepted}:x", StringComparison.Ordinal), $"message {accepted}");
        return accepted + 1;
    }

    /// <summary>
    /// Small socket buffers on the server's side, so a few hundred messages fill them (the kernel would otherwise buffer
    /// megabytes for a stalled client before the server's own queue sees any backpressure).
    /// </summary>
    internal static ChatAppFactory SmallBuffers(Dictionary<string, string?> settings, Action<IServiceCollection>? more = null) =>
        new(settings, host => host.ConfigureTestServices(services =>
        {
            services.Configure<SocketTransportOptions>(o => o.CreateBoundListenSocket = endpoint =>
            {
                var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = 16 * 1024; // inherited by accepted connections
                return socket;
            });
            more?.Invoke(services);
        }));

    /// <summary>An open stream whose client has a tiny receive buffer and reads nothing until told.</summary>
    internal sealed class StalledStream(HttpClient client, HttpResponseMessage response) : IDisposable
    {
        public HttpResponseMessage Response => response;

        public static async Task<StalledStream> OpenAsync(Uri baseAddress)
        {
            var client = StalledClient(baseAddress);
            using var opening = new CancellationTokenSource(Wait.Default);
            var response = await client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, opening.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return new StalledStream(client, response);
        }

        public void Dispose()
        {
            response.Dispose();
            client.Dispose();
        }
    }

    /// <summary>A client with a tiny receive buffer, whose response nobody reads.</summary>
    private static HttpClient StalledClient(Uri baseAddress) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = baseAddress, Timeout = Wait.Default }; // until the headers: reading the body later is bounded

    /// <summary>Completes <see cref="Cut"/> once the app has logged <paramref name="cuts"/> streams cut off as too slow with this event id.</summary>
    internal sealed class CutWatch(int cutEventId, int cuts = 1) : ILoggerProvider, ILogger
    {
        private readonly TaskCompletionSource _cut = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public Task Cut => _cut.Task;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == cutEventId && Interlocked.Increment(ref _count) >= cuts)
            {
                _cut.TrySetResult();
            }
        }

        public void Dispose()
        {
        }
    }
}
