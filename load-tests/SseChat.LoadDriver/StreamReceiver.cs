using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SseChat.LoadDriver;

/// <summary>
/// One SSE stream: opens <c>GET /events</c> on a socket of its own, reads it with <see cref="SseWireDecoder"/> and records
/// each delivery of this run's messages in its own bit set (so loss and duplicates are exact per stream). Only its
/// own task writes its fields; the run reads them (a long read is atomic) to follow progress.
/// </summary>
internal sealed class StreamReceiver
{
    /// <summary>The parsed form of an event, produced without allocating: this run's sequence number or a kind.</summary>
    public const long Reset = -3;
    public const long Control = -2;
    public const long OtherContent = -1;

    private readonly ulong[] _seen;
    private readonly IReadOnlyList<Uri> _events;
    private long _contentEvents;
    private long _unique;
    private long _duplicates;
    private long _outOfRange;
    private long _lastDeliveryAt;
    private long _reconnects;
    private long _resets;
    private readonly bool _browserHeaders;
    private SseWireDecoder? _reader; // the current (or last) connection's reader: it knows the last event id

    /// <param name="events">every instance's stream URL, in --urls order; the stream opens on <paramref name="instance"/>'s.</param>
    public StreamReceiver(int index, IReadOnlyList<Uri> events, int instance, int messageCount, bool browserHeaders = false)
    {
        Index = index;
        _browserHeaders = browserHeaders;
        _events = events;
        Instance = instance;
        _seen = new ulong[Bitmaps.Words(messageCount)];
    }

    public int Index { get; }

    /// <summary>The instance the stream first opened on (0-based, --urls order): where its tally is counted.</summary>
    public int Instance { get; }

    public Uri Events => _events[Instance];

    /// <summary>True once the first event (the server's ping with the retry hint) arrived.</summary>
    public bool Opened { get; private set; }

    /// <summary>Why the stream ended before the run stopped it, or null (in a fault run only when its first open failed).</summary>
    public string? Failure { get; private set; }

    /// <summary>True while a connection is delivering events (from its first event to its end).</summary>
    public bool Connected { get; private set; }

    /// <summary>The id of the last event received with one, sent back as Last-Event-ID on reconnect.</summary>
    public string? LastEventId => _reader?.LastEventId;

    /// <summary>Ends of the stream that it reconnected after (fault runs).</summary>
    public long Reconnects => Volatile.Read(ref _reconnects);

    /// <summary>Named <c>reset</c> events: the resume point had fallen out of the room log, a browser would reload its history.</summary>
    public long Resets => Volatile.Read(ref _resets);

    /// <summary>Unnamed (content) events received: messages and presence updates.</summary>
    public long ContentEvents => Volatile.Read(ref _contentEvents);

    /// <summary>Distinct messages of this run received.</summary>
    public long Unique => Volatile.Read(ref _unique);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long OutOfRange => Volatile.Read(ref _outOfRange);

    public long LastDeliveryAt => Volatile.Read(ref _lastDeliveryAt);

    public ReadOnlySpan<ulong> Seen => _seen;

    /// <summary>Whether this run's message <paramref name="seq"/> reached the stream; read after the stream's task ended or for progress.</summary>
    public bool HasSeen(long seq) => (Volatile.Read(ref _seen[seq >> 6]) & (1UL << (int)(seq & 63))) != 0;

    /// <summary>
    /// Reads the stream until the run stops it; never throws. Without <paramref name="reconnection"/> the first end
    /// is final (its cause goes to <see cref="Failure"/>). With it (fault runs), a stream that opened comes back as
    /// a browser's would: after a short backoff, with the last id it received as <c>Last-Event-ID</c>, to the next
    /// instance in --urls order (so it leaves one that is gone); every end counts as a reconnect.
    /// </summary>
    /// <param name="opened">called once: when the first event arrived, or when the stream failed before that.</param>
    public async Task RunAsync(byte[] run, DeliveryLedger ledger, TimeSpan openTimeout, Action opened, Reconnection? reconnection, CancellationToken stop)
    {
        var signalled = false;
        void Signal()
        {
            if (!signalled)
            {
                signalled = true;
                opened();
            }
        }

        try
        {
            var target = Instance;
            var delay = Reconnection.FirstDelay;
            while (true)
            {
                var (cause, delivered) = await ConnectAsync(_events[target], run, ledger, Opened ? Reconnection.Bound : openTimeout, Signal, stop);
                if (cause is null)
                {
                    return;
                }

                if (reconnection is null || !Opened)
                {
                    Failure = cause;
                    return;
                }

                Volatile.Write(ref _reconnects, _reconnects + 1);
                reconnection.Count(cause);
                delay = delivered ? Reconnection.FirstDelay : delay;
                await Task.Delay(delay, stop);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Reconnection.MaxDelay.Ticks));
                target = (target + 1) % _events.Count;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run stopped the stream (while it waited to reconnect).
        }
        finally
        {
            if (!signalled)
            {
                opened();
            }
        }
    }

    /// <summary>One connection: null when the run stopped it, else why it ended; and whether it delivered an event.</summary>
    private async Task<(string? Cause, bool Delivered)> ConnectAsync(
        Uri events, byte[] run, DeliveryLedger ledger, TimeSpan bound, Action opened, CancellationToken stop)
    {
        var delivered = false;
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var openBound = CancellationTokenSource.CreateLinkedTokenSource(stop);
        openBound.CancelAfter(bound);
        // One registration rather than a token per receive: cancelling closes the socket, which ends a pending receive.
        await using var closeOnCancel = openBound.Token.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket);
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(events.Host, events.Port), openBound.Token);
            await socket.SendAsync(RequestBytes(events, LastEventId, _browserHeaders ? Index : null), SocketFlags.None, openBound.Token);

            // It starts from the id the stream resumes after; only dispatched events move it (a browser's
            // lastEventId): an id whose event was cut off is not resumed after.
            var decoder = new SseWireDecoder(run, LastEventId);
            _reader = decoder;
            var buffer = new byte[ReceiveBufferBytes];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, CancellationToken.None);
                if (read == 0)
                {
                    var cause = decoder.HeadRead && decoder.CompleteAtClose ? "the server ended the stream" : "response ended";
                    return stop.IsCancellationRequested ? (null, delivered) : (cause, delivered);
                }

                var input = new ReadOnlySpan<byte>(buffer, 0, read);
                var receivedAt = 0L;
                while (!input.IsEmpty)
                {
                    var wasRead = decoder.HeadRead;
                    if (!decoder.TryRead(ref input, out var seq))
                    {
                        if (!wasRead && decoder.HeadRead && decoder.StatusCode != 200)
                        {
                            return ($"GET {events} answered {decoder.StatusCode}", false);
                        }

                        continue;
                    }

                    if (!delivered)
                    {
                        delivered = true;
                        Connected = true;
                        Opened = true;
                        openBound.CancelAfter(Timeout.InfiniteTimeSpan);
                        opened();
                    }

                    if (seq < OtherContent)
                    {
                        if (seq == Reset)
                        {
                            Volatile.Write(ref _resets, _resets + 1);
                        }

                        continue;
                    }

                    Volatile.Write(ref _contentEvents, _contentEvents + 1);
                    if (seq >= 0)
                    {
                        // One clock read per receive: the events of one read arrived together.
                        receivedAt = receivedAt == 0 ? Stopwatch.GetTimestamp() : receivedAt;
                        Record(seq, ledger, receivedAt);
                    }
                }
            }
        }
#pragma warning disable CA1031 // any failure of one stream is reported as its cause, never thrown into the run
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (stop.IsCancellationRequested)
            {
                return (null, delivered);
            }

            return (openBound.IsCancellationRequested ? $"no first event within {bound.TotalSeconds:0} s"
                : ex is InvalidDataException ? $"malformed response: {ex.Message}"
                : Failures.Kind(ex), delivered);
        }
        finally
        {
            Connected = false;
        }
    }

    private const int ReceiveBufferBytes = 16 * 1024;

    private static byte[] RequestBytes(Uri events, string? lastEventId, int? browser)
    {
        var request = new StringBuilder()
            .Append("GET ").Append(events.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(events.Authority).Append("\r\n")
            .Append("Accept: text/event-stream\r\n");
        if (lastEventId is not null)
        {
            request.Append("Last-Event-ID: ").Append(lastEventId).Append("\r\n");
        }

        if (browser is { } n)
        {
            // What Chrome 131 sends with an EventSource, with this browser's own cookies: its id, its nickname, and the
            // antiforgery cookie its page got (the same length as the app's).
            var id = Convert.ToBase64String(BitConverter.GetBytes((long)n).Concat(new byte[8]).ToArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            request
                .Append("Connection: keep-alive\r\nCache-Control: no-cache\r\n")
                .Append("sec-ch-ua-platform: \"Linux\"\r\n")
                .Append("User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n")
                .Append("sec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n")
                .Append("sec-ch-ua-mobile: ?0\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n")
                .Append("Referer: ").Append(events.GetLeftPart(UriPartial.Authority)).Append("/\r\n")
                .Append("Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-GB,en;q=0.9\r\n")
                .Append("Cookie: .AspNetCore.Antiforgery.9fXoN5jHCXs=").Append('C', 190)
                .Append("; ssechat-id=").Append(id).Append("; ssechat-nick=guest-").Append(n.ToString("x5", CultureInfo.InvariantCulture)).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(request.Append("\r\n").ToString());
    }

    private void Record(long seq, DeliveryLedger ledger, long now)
    {
        if (seq >= ledger.MessageCount)
        {
            Volatile.Write(ref _outOfRange, _outOfRange + 1);
            return;
        }

        ref var word = ref _seen[seq >> 6];
        var bit = 1UL << (int)(seq & 63);
        if ((word & bit) != 0)
        {
            Volatile.Write(ref _duplicates, _duplicates + 1);
            return;
        }

        word |= bit;
        ledger.RecordDelivery(seq, now);
        Volatile.Write(ref _lastDeliveryAt, now);
        Volatile.Write(ref _unique, _unique + 1);
    }
}

/// <summary>How a fault run's streams come back after an end (shared by all of them): backoff bounds and the causes seen.</summary>
internal sealed class Reconnection
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>A reconnect that delivers no first event in this time is given up and tried on the next instance.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, int> _causes = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> Causes => _causes;

    public void Count(string cause) => _causes.AddOrUpdate(cause, 1, static (_, n) => n + 1);
}
