using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.ServerSentEvents;

namespace SseChat.LoadDriver;

/// <summary>
/// One SSE stream: opens <c>GET /events</c>, parses it with the framework's <see cref="SseParser"/> and records
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

    /// <param name="events">every instance's stream URL, in --urls order; the stream opens on <paramref name="instance"/>'s.</param>
    public StreamReceiver(int index, IReadOnlyList<Uri> events, int instance, int messageCount)
    {
        Index = index;
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
    public string? LastEventId { get; private set; }

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

    /// <summary>Makes the parser for one run: finds the run's marker in unnamed events.</summary>
    public static SseItemParser<long> CreateParser(string run)
    {
        var runBytes = System.Text.Encoding.ASCII.GetBytes(run);
        return (eventType, data) =>
        {
            if (!string.Equals(eventType, SseParser.EventTypeDefault, StringComparison.Ordinal))
            {
                return string.Equals(eventType, "reset", StringComparison.Ordinal) ? Reset : Control;
            }

            return LoadText.TryParse(data, runBytes, out var seq, out _) ? seq : OtherContent;
        };
    }

    /// <summary>
    /// Reads the stream until the run stops it; never throws. Without <paramref name="reconnection"/> the first end
    /// is final (its cause goes to <see cref="Failure"/>). With it (fault runs), a stream that opened comes back as
    /// a browser's would: after a short backoff, with the last id it received as <c>Last-Event-ID</c>, to the next
    /// instance in --urls order (so it leaves one that is gone); every end counts as a reconnect.
    /// </summary>
    /// <param name="opened">called once: when the first event arrived, or when the stream failed before that.</param>
    public async Task RunAsync(HttpClient http, SseItemParser<long> parser, DeliveryLedger ledger, TimeSpan openTimeout, Action opened, Reconnection? reconnection, CancellationToken stop)
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
                var (cause, delivered) = await ConnectAsync(http, _events[target], parser, ledger, Opened ? Reconnection.Bound : openTimeout, Signal, stop);
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
        HttpClient http, Uri events, SseItemParser<long> parser, DeliveryLedger ledger, TimeSpan bound, Action opened, CancellationToken stop)
    {
        var delivered = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, events);
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (LastEventId is { } resumeAfter)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", resumeAfter);
            }

            using var openBound = CancellationTokenSource.CreateLinkedTokenSource(stop);
            openBound.CancelAfter(bound);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, openBound.Token);
            if (!response.IsSuccessStatusCode)
            {
                return ($"GET {events} answered {(int)response.StatusCode}", false);
            }

            await using var body = await response.Content.ReadAsStreamAsync(openBound.Token);
            await foreach (var item in SseParser.Create(body, parser).EnumerateAsync(stop))
            {
                if (!delivered)
                {
                    delivered = true;
                    Connected = true;
                    Opened = true;
                    opened();
                }

                // Only dispatched events move it (a browser's lastEventId): an id whose event was cut off is not resumed after.
                if (item.EventId is { Length: > 0 } id)
                {
                    LastEventId = id;
                }

                var seq = item.Data;
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
                    Record(seq, ledger);
                }
            }

            return stop.IsCancellationRequested ? (null, delivered) : ("the server ended the stream", delivered);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return (null, delivered);
        }
#pragma warning disable CA1031 // any failure of one stream is reported as its cause, never thrown into the run
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return (ex is OperationCanceledException ? $"no first event within {bound.TotalSeconds:0} s" : Failures.Kind(ex), delivered);
        }
        finally
        {
            Connected = false;
        }
    }

    private void Record(long seq, DeliveryLedger ledger)
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
        var now = Stopwatch.GetTimestamp();
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
