using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>Resume after a disconnect: exactly the messages after the last id, in order, then live; on either bus.</summary>
[Collection(RedisServerGroup.Name)]
public sealed class ResumeTests(RedisServer redis)
{
    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public Task Reconnecting_with_the_Last_Event_ID_header_gets_exactly_the_missed_messages_then_live_ones(string mode) =>
        ResumeAsync(mode, (request, id) => request.Headers.Add("Last-Event-ID", id), "/events");

    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public Task Reconnecting_with_the_lastEventId_query_parameter_does_the_same(string mode) =>
        ResumeAsync(mode, (_, _) => { }, "/events?lastEventId={id}");

    [Fact]
    public async Task The_header_wins_over_the_query_parameter()
    {
        using var app = ChatModes.Create(ChatModes.InProcess, redis);
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await PostAllAsync(browser, app.BaseAddress, page, "h1", "h2", "h3");
        var ids = await IdsOfAsync(browser, app.BaseAddress, 3);

        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), $"/events?lastEventId={ids[0]}",
            r => r.Headers.Add("Last-Event-ID", ids[1]));
        using var live = await browser.PostMessageAsync(app.BaseAddress, page, "h4", cmid: Cmid());
        await stream.WaitForMessageAsync("h4");

        Assert.Equal(["h3", "h4"], stream.Messages.Select(ChatModes.TextOf));
    }

    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public async Task A_resume_point_that_left_the_log_gets_a_reset_event_instead_of_a_partial_replay(string mode)
    {
        using var app = ChatModes.Create(mode, redis, new() { ["Chat:LogMaxLength"] = "100" });
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await PostAllAsync(browser, app.BaseAddress, page, "the first");
        var first = (await IdsOfAsync(browser, app.BaseAddress, 1))[0];
        // Redis trims "MAXLEN ~ 100" in whole nodes of 100 entries: 350 more certainly push the first one out.
        await PostAllAsync(browser, app.BaseAddress, page, Enumerable.Range(0, 350).Select(i => $"filler {i}").ToArray());

        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events",
            r => r.Headers.Add("Last-Event-ID", first));
        var reset = await stream.WaitForAsync(e => e.EventType == "reset", "the reset event");
        using var live = await browser.PostMessageAsync(app.BaseAddress, page, "after the reset", cmid: Cmid());
        await stream.WaitForMessageAsync("after the reset");

        Assert.Equal("history", reset.Data);
        Assert.Equal(["after the reset"], stream.Messages.Select(ChatModes.TextOf)); // no partial replay
    }

    [Fact]
    public async Task After_a_reset_the_stream_does_not_also_send_live_copies_of_messages_the_reloaded_history_holds()
    {
        // The room's dispatch is held while messages are logged, so they reach the room only after the resuming
        // stream has joined it and got its reset: the order a slow dispatch (or a Redis subscriber) can produce.
        var gate = new DispatchGate();
        using var app = new ChatAppFactory(new() { ["Chat:LogMaxLength"] = "100", ["Chat:MaxDeliveryLag"] = "00:00:00" }, builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IChatBus>(sp => new GatedChatBus(sp.GetRequiredService<InProcessChatBus>(), gate))));
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var watcher = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await PostAllAsync(browser, app.BaseAddress, page, "the first");
        var first = await watcher.WaitForMessageAsync("the first");

        gate.Close();
        await PostAllAsync(browser, app.BaseAddress, page, Enumerable.Range(0, 350).Select(i => $"held {i}").ToArray());
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events",
            r => r.Headers.Add("Last-Event-ID", first.Id));
        await stream.WaitForAsync(e => e.EventType == "reset", "the reset event");
        gate.Open();
        await watcher.WaitForMessageAsync("held 349");
        using var live = await browser.PostMessageAsync(app.BaseAddress, page, "after the reset", cmid: Cmid());
        await stream.WaitForMessageAsync("after the reset");

        Assert.Equal(["after the reset"], stream.Messages.Select(ChatModes.TextOf));
    }

    [Theory]
    [MemberData(nameof(ChatModes.Both), MemberType = typeof(ChatModes))]
    public async Task A_resume_while_messages_keep_coming_has_no_gap_and_no_duplicate(string mode)
    {
        using var app = ChatModes.Create(mode, redis);
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var watcher = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await watcher.WaitForAsync(e => e.EventType == "ping", "watcher open");

        var texts = Enumerable.Range(0, 300).Select(i => $"flow {i}").ToArray();
        var posting = PostAllAsync(browser, app.BaseAddress, page, texts);
        var resumeFrom = await watcher.WaitForMessageAsync("flow 20");
        // Resume from the middle of the flow while it goes on: replayed and live messages overlap here.
        await using var resumer = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events",
            r => r.Headers.Add("Last-Event-ID", resumeFrom.Id));
        await posting.WaitAsync(TimeSpan.FromSeconds(60));
        await resumer.WaitForMessageAsync("flow 299", TimeSpan.FromSeconds(30));
        await watcher.WaitForMessageAsync("flow 299", TimeSpan.FromSeconds(30));

        Assert.Equal(texts[21..], resumer.Messages.Select(ChatModes.TextOf));
        Assert.Equal(texts, watcher.Messages.Select(ChatModes.TextOf));
        Assert.Equal(watcher.Messages.Skip(21).Select(e => e.Id), resumer.Messages.Select(e => e.Id));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("12-")]
    [InlineData("<script>")]
    public async Task A_malformed_resume_id_is_refused_with_400(string id)
    {
        using var app = ChatModes.Create(ChatModes.InProcess, redis);
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", id);

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task ResumeAsync(string mode, Action<HttpRequestMessage, string> addHeader, string pathTemplate)
    {
        using var app = ChatModes.Create(mode, redis);
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        var first = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await PostAllAsync(browser, app.BaseAddress, page, "seen 1", "seen 2");
        var lastSeen = await first.WaitForMessageAsync("seen 2");
        await first.DisposeAsync();

        var missed = Enumerable.Range(1, 7).Select(i => $"missed {i}").ToArray();
        await PostAllAsync(browser, app.BaseAddress, page, missed);
        await using var resumed = await SseClient.ConnectAsync(browser.Client(app.BaseAddress),
            pathTemplate.Replace("{id}", lastSeen.Id, StringComparison.Ordinal), r => addHeader(r, lastSeen.Id!));
        await resumed.WaitForMessageAsync("missed 7");
        using var live = await browser.PostMessageAsync(app.BaseAddress, page, "live after resume", cmid: Cmid());
        await resumed.WaitForMessageAsync("live after resume");

        Assert.Equal([.. missed, "live after resume"], resumed.Messages.Select(ChatModes.TextOf));
        var ids = resumed.Messages.Select(e => LogId.ParseOrDefault(e.Id)).ToArray();
        Assert.All(ids.Zip(ids.Skip(1)), pair => Assert.True(pair.First < pair.Second, $"{pair.First} !< {pair.Second}"));
        Assert.True(ids[0] > LogId.ParseOrDefault(lastSeen.Id));
    }

    internal static async Task PostAllAsync(ChatBrowser browser, Uri baseAddress, ChatPage page, params string[] texts)
    {
        foreach (var text in texts)
        {
            using var response = await browser.PostMessageAsync(baseAddress, page, text, cmid: Cmid());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task<string[]> IdsOfAsync(ChatBrowser browser, Uri baseAddress, int count)
    {
        var page = await browser.GetPageAsync(baseAddress);
        var ids = page.Document.QuerySelectorAll("#messages > li[data-kind=message]").Select(li => li.Id![2..]).ToArray();
        Assert.Equal(count, ids.Length);
        return ids;
    }

    internal static string Cmid() => Guid.NewGuid().ToString("N");
}

/// <summary>Holds every event a room's subscribers get until it is opened (events wait in order, none is lost).</summary>
internal sealed class DispatchGate
{
    private volatile TaskCompletionSource _open = Opened();

    public Task WaitAsync() => _open.Task;

    public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}

/// <summary>The in-process bus, with its deliveries to subscribers held by a <see cref="DispatchGate"/>.</summary>
internal sealed class GatedChatBus(InProcessChatBus inner, DispatchGate gate) : DelegatingChatBus(inner)
{
    /// <summary>
    /// Events wait in a queue of their own, in order, and reach the handler once the gate is open; the subscription's lag
    /// is how long the oldest held batch has waited.
    /// </summary>
    public override async Task<IRoomSubscription> SubscribeAsync(string room, Action<IReadOnlyList<ChatEvent>> handler, CancellationToken cancellationToken)
    {
        var held = System.Threading.Channels.Channel.CreateUnbounded<(ChatEvent[] Batch, long At)>();
        var subscription = new Held(held);
        var pump = Task.Run(async () =>
        {
            await foreach (var (batch, _) in held.Reader.ReadAllAsync())
            {
                await gate.WaitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                subscription.Delivered(); // before the handler: a test that sees the batch sees no lag from it
                handler(batch);
            }
        }, CancellationToken.None);
        subscription.Start(await inner.SubscribeAsync(room, batch => subscription.Hold([.. batch]), cancellationToken), pump);
        return subscription;
    }

    private sealed class Held(System.Threading.Channels.Channel<(ChatEvent[] Batch, long At)> held) : IRoomSubscription
    {
        private readonly Queue<long> _waiting = new();
        private IAsyncDisposable? _inner;
        private Task _pump = Task.CompletedTask;

        public TimeSpan Lag
        {
            get
            {
                lock (_waiting)
                {
                    return _waiting.TryPeek(out var oldest) ? System.Diagnostics.Stopwatch.GetElapsedTime(oldest) : TimeSpan.Zero;
                }
            }
        }

        public void Start(IAsyncDisposable inner, Task pump) => (_inner, _pump) = (inner, pump);

        public void Hold(ChatEvent[] batch)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (_waiting)
            {
                _waiting.Enqueue(now);
            }

            held.Writer.TryWrite((batch, now));
        }

        public void Delivered()
        {
            lock (_waiting)
            {
                _waiting.TryDequeue(out _);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_inner is not null)
            {
                await _inner.DisposeAsync();
            }

            held.Writer.TryComplete();
            await _pump.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
