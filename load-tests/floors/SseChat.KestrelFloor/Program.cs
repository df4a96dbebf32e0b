// GET /events: the headers and one ping event, then the response stays open until the client goes. This is what
// Kestrel itself holds per idle SSE stream, the floor under SseChat.Web's figure (load-tests/floors/floors.sh).
//
// With --TransportOnly true the stream is answered below Kestrel's HTTP layer, by a connection middleware that reads
// the request line, writes a fixed HTTP/1.1 response head and the ping into the transport's pipe, and then only waits
// for the client to close. That is the least a stream on Kestrel's socket transport costs: what a hand-written HTTP
// layer on Kestrel would still pay. It is a measuring tool, not a server: it checks nothing but the request line.
//
// With --FanOutRate R every open stream gets a frame of a chat message's size R times a second, written and flushed
// on the fan-out's thread as SseChat's rooms do (Kestrel sending inline, as with Chat:InlineSends): what Kestrel's
// HTTP/1.1 response path costs per delivery, next to send-floor's bare send() (floors.sh send). With --DirectChunks true
// as well, each frame goes out as an HTTP/1.1 chunk written straight onto the connection's pipe, below the response
// layer, as SseChat's live streams write (SseChat.Web/Streaming/ChunkedConnection.cs).
//
// With --Redis HOST:PORT it is the least a chat on SseChat's stack can be, for the peers' driver (load-tests/peers.sh
// measures it beside the seed's design): POST /messages publishes the form's text field to one Redis channel with
// StackExchange.Redis, and the subscription writes it as an SSE frame to every open stream and flushes each, in order,
// as SseChat's fan-out does in a small room. No log, no antiforgery, no pages, no presence, no validation: only
// Kestrel, StackExchange.Redis's pub/sub and the thread hand-offs between them.
//
// With --SocketsOnly true there is no Kestrel at all: a loop of .NET Sockets accepts on the --urls port and holds
// each stream with one pending zero-byte receive. That is what a stream server written outside Kestrel would pay.
// With --FanOutRate as well, the fan-out sends each frame with one Socket.Send per stream.
using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using StackExchange.Redis;

var builder = WebApplication.CreateSlimBuilder(args);
if (builder.Configuration.GetValue<bool>("SocketsOnly"))
{
    await SocketsOnly.RunAsync(new Uri(builder.Configuration["urls"]!.Split(';')[0]).Port, builder.Configuration.GetValue<int>("FanOutRate"));
    return;
}

builder.Logging.ClearProviders();
var ping = "event: ping\ndata: \n\n"u8.ToArray();
var fanOutRate = builder.Configuration.GetValue<int>("FanOutRate");
var directChunks = builder.Configuration.GetValue<bool>("DirectChunks");
// The frame as one chunk, framed once: "<size in hex>\r\n<frame>\r\n".
var chunked = System.Text.Encoding.ASCII.GetBytes($"{StreamHead.Frame.Length:x}\r\n").Concat(StreamHead.Frame).Concat("\r\n"u8.ToArray()).ToArray();
var streams = new ConcurrentDictionary<PipeWriter, bool>();
if (builder.Configuration.GetValue<bool>("TransportOnly"))
{
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
        listen.Use(_ => connection => HoldAsync(connection, fanOutRate > 0 ? streams : null))));
}

var redisConfiguration = builder.Configuration["Redis"];
var streamsGetFrames = fanOutRate > 0 || !string.IsNullOrEmpty(redisConfiguration);
if (streamsGetFrames)
{
    builder.Services.Configure<SocketTransportOptions>(sockets => sockets.UnsafePreferInlineScheduling = true);
}

var app = builder.Build();
if (!string.IsNullOrEmpty(redisConfiguration))
{
    var redis = await ConnectionMultiplexer.ConnectAsync(redisConfiguration);
    var channel = RedisChannel.Literal("floor");
    var queue = await redis.GetSubscriber().SubscribeAsync(channel);
    queue.OnMessage(message => WriteTextAsync(streams, "data: " + (string?)message.Message + "\n\n"));
    app.MapPost("/messages", async (HttpContext context) =>
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        await redis.GetDatabase().PublishAsync(channel, form["text"].ToString());
        return Results.NoContent();
    });
    app.MapGet("/", () => "floor");
}

if (fanOutRate > 0)
{
    _ = Task.Run(() => FanOutAsync(streams, fanOutRate, directChunks ? chunked : StreamHead.Frame));
}

app.MapGet("/events", async (HttpContext context) =>
{
    context.Response.ContentType = "text/event-stream";
    await context.Response.Body.WriteAsync(ping, context.RequestAborted);
    await context.Response.Body.FlushAsync(context.RequestAborted);
    // The connection's pipe under the response, flushed and so holding nothing of the response layer's.
    var target = directChunks ? context.Features.Get<IConnectionTransportFeature>()!.Transport.Output : context.Response.BodyWriter;
    if (streamsGetFrames)
    {
        streams.TryAdd(target, true);
    }

    try
    {
        await Task.Delay(Timeout.Infinite, context.RequestAborted);
    }
    catch (OperationCanceledException)
    {
        // The client went away.
    }
    finally
    {
        streams.TryRemove(target, out _);
    }
});
await app.RunAsync();

static async Task FanOutAsync(ConcurrentDictionary<PipeWriter, bool> streams, int rate, byte[] frame)
{
    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate));
    var pending = new List<Task>();
    while (await timer.WaitForNextTickAsync())
    {
        await WriteAllAsync(streams, frame, pending);
    }
}

// One frame to every stream, flushed; waits for the flushes that did not complete at once, so no stream is written to
// while its last flush is under way.
static Task WriteTextAsync(ConcurrentDictionary<PipeWriter, bool> streams, string text) =>
    WriteAllAsync(streams, System.Text.Encoding.UTF8.GetBytes(text), []);

static async Task WriteAllAsync(ConcurrentDictionary<PipeWriter, bool> streams, byte[] frame, List<Task> pending)
{
    foreach (var writer in streams.Keys)
    {
        try
        {
            writer.Write(frame);
            var flush = writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                pending.Add(flush.AsTask());
            }
        }
        catch (InvalidOperationException)
        {
            // The response ended while the loop held its writer.
        }
    }

    try
    {
        await Task.WhenAll(pending);
    }
    catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
    {
        // A client went away mid-flush.
    }

    pending.Clear();
}

static async Task HoldAsync(ConnectionContext connection, ConcurrentDictionary<PipeWriter, bool>? streams)
{
    var input = connection.Transport.Input;
    while (true)
    {
        var read = await input.ReadAsync();
        var reader = new SequenceReader<byte>(read.Buffer);
        if (reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            var isStream = new SequenceReader<byte>(read.Buffer).IsNext("GET /events "u8);
            input.AdvanceTo(reader.Position);
            if (!isStream)
            {
                return;
            }

            break;
        }

        if (read.IsCompleted || read.Buffer.Length > 8192)
        {
            return;
        }

        input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
    }

    var output = connection.Transport.Output;
    await output.WriteAsync(StreamHead.Bytes);
    streams?.TryAdd(output, true);
    try
    {
        // Idle until the client closes: the transport's zero-byte receive holds no buffer.
        while (true)
        {
            var read = await input.ReadAsync();
            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return;
            }
        }
    }
    finally
    {
        streams?.TryRemove(output, out _);
    }
}

internal static class StreamHead
{
    // The size of SseChat's frame for a short message, as in send-floor.c (228 bytes).
    public static readonly byte[] Frame =
        ("id: 1764234300000-0\ndata: <li class=\"msg\" data-kind=\"message\" id=\"m-1764234300000-0\" data-sent=\"1764234300000\">"
        + "<time>10:05</time> <b class=\"nick\">alice</b> <span class=\"text\">hello world, a message of ordinary size</span></li>\n\n")
        .Select(c => (byte)c).ToArray();

    public static readonly byte[] Bytes =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nevent: ping\ndata: \n\n"u8.ToArray();
}

internal static class SocketsOnly
{
    private static readonly byte[] Scratch = new byte[256];
    // Only with a fan-out: the memory floor holds nothing per stream but the socket and its receive.
    private static ConcurrentDictionary<Socket, bool>? _streams;

    public static async Task RunAsync(int port, int fanOutRate)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(4096);
        if (fanOutRate > 0)
        {
            var streams = _streams = new ConcurrentDictionary<Socket, bool>();
            _ = Task.Run(() => FanOutAsync(streams, fanOutRate));
        }

        while (true)
        {
            var socket = await listener.AcceptAsync();
            socket.NoDelay = true; // as Kestrel sets it
            _ = HoldAsync(socket);
        }
    }

    private static async Task FanOutAsync(ConcurrentDictionary<Socket, bool> streams, int rate)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate));
        while (await timer.WaitForNextTickAsync())
        {
            foreach (var socket in streams.Keys)
            {
                try
                {
                    // A stream whose client does not keep up loses the frame: this measures a send, nothing more.
                    socket.Send(StreamHead.Frame, SocketFlags.None, out _);
                }
                catch (ObjectDisposedException)
                {
                    // The stream ended while the loop held its socket.
                }
            }
        }
    }

    private static async Task HoldAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                var request = ArrayPool<byte>.Shared.Rent(8192);
                var length = 0;
                try
                {
                    while (request.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                    {
                        var read = await socket.ReceiveAsync(request.AsMemory(length));
                        if (read == 0 || (length += read) == request.Length)
                        {
                            return;
                        }
                    }

                    if (!request.AsSpan(0, length).StartsWith("GET /events "u8))
                    {
                        return;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(request);
                }

                await socket.SendAsync(StreamHead.Bytes);
                _streams?.TryAdd(socket, true);
                // Idle until the client closes: a zero-byte receive holds no buffer; what it reports is drained.
                while (await socket.ReceiveAsync(Memory<byte>.Empty) == 0 && await socket.ReceiveAsync(Scratch) > 0)
                {
                }
            }
            catch (SocketException)
            {
                // The client went away.
            }
            finally
            {
                _streams?.TryRemove(socket, out _);
            }
        }
    }
}
