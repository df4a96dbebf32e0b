using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
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
        using var app = SmallBuffers(new() { ["Chat:StreamQueueCapacity"] = "16" });
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var reader = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await reader.WaitForAsync(e => e.EventType == "ping", "reader open");
        using var stalledHttp = StalledClient(app.BaseAddress);
        using var opening = new CancellationTokenSource(Wait.Default);
        using var stalled = await stalledHttp.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, opening.Token);
        Assert.Equal(HttpStatusCode.OK, stalled.StatusCode);

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

        // The stalled client now reads what reached it: the stream must have been ended by the server.
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
        Assert.InRange(received.Count, 0, MessageCount - 1); // it was cut off before it got everything

        // It resumes from its Last-Event-ID and gets exactly the rest.
        var lastId = received.LastOrDefault().EventId;
        await using var resumed = await SseClient.ConnectAsync(browser.Client(app.BaseAddress), "/events",
            r => { if (lastId is not null) { r.Headers.Add("Last-Event-ID", lastId); } });
        await resumed.WaitForAsync(e => e.Kind == "message" && e.Data.Contains($">{MessageCount - 1}:x", StringComparison.Ordinal), "the last message", TimeSpan.FromSeconds(30));

        var all = received.Select(e => ChatModes.TextOf(new SseEvent(e.EventType, e.Data, e.EventId)))
            .Concat(resumed.Messages.Select(ChatModes.TextOf))
            .Select(t => int.Parse(t[..t.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, MessageCount), all);
    }

    [Fact]
    public async Task At_shutdown_a_stalled_reader_is_cut_at_half_the_timeout_so_the_instance_stops_in_time()
    {
        // A queue so large that the stalled stream is never cut for falling behind: only the shutdown can end it.
        var app = SmallBuffers(new() { ["Chat:StreamQueueCapacity"] = "100000", ["Chat:ShutdownTimeout"] = "00:00:06" });
        try
        {
            using var browser = new ChatBrowser();
            var page = await browser.GetPageAsync(app.BaseAddress);
            using var stalledHttp = StalledClient(app.BaseAddress);
            using var opening = new CancellationTokenSource(Wait.Default);
            using var stalled = await stalledHttp.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, opening.Token);
            Assert.Equal(HttpStatusCode.OK, stalled.StatusCode);
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
            // The stalled stream is cut at half the timeout (3 s); waiting for it, the host would take the whole 6 s.
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"the instance took {stopping.Elapsed} to stop");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Small socket buffers on the server's side, so a few hundred messages fill them (the kernel would otherwise buffer
    /// megabytes for a stalled client before the server's own queue sees any backpressure).
    /// </summary>
    private static ChatAppFactory SmallBuffers(Dictionary<string, string?> settings) =>
        new(settings, host => host.ConfigureServices(services =>
            services.Configure<SocketTransportOptions>(o => o.CreateBoundListenSocket = endpoint =>
            {
                var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                socket.SendBufferSize = 16 * 1024; // inherited by accepted connections
                return socket;
            })));

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
}
