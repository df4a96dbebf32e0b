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
    public const long Control = -2;
    public const long OtherContent = -1;

    private readonly ulong[] _seen;
    private long _events;
    private long _unique;
    private long _duplicates;
    private long _outOfRange;
    private long _lastDeliveryAt;

    public StreamReceiver(int index, Uri events, int messageCount)
    {
        Index = index;
        Events = events;
        _seen = new ulong[Bitmaps.Words(messageCount)];
    }

    public int Index { get; }

    public Uri Events { get; }

    /// <summary>True once the first event (the server's ping with the retry hint) arrived.</summary>
    public bool Opened { get; private set; }

    /// <summary>Why the stream ended before the run stopped it, or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>Unnamed (content) events received: messages and presence updates.</summary>
    public long ContentEvents => Volatile.Read(ref _events);

    /// <summary>Distinct messages of this run received.</summary>
    public long Unique => Volatile.Read(ref _unique);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long OutOfRange => Volatile.Read(ref _outOfRange);

    public long LastDeliveryAt => Volatile.Read(ref _lastDeliveryAt);

    public ReadOnlySpan<ulong> Seen => _seen;

    /// <summary>Makes the parser for one run: finds the run's marker in unnamed events.</summary>
    public static SseItemParser<long> CreateParser(string run)
    {
        var runBytes = System.Text.Encoding.ASCII.GetBytes(run);
        return (eventType, data) =>
        {
            if (!string.Equals(eventType, SseParser.EventTypeDefault, StringComparison.Ordinal))
            {
                return Control;
            }

            return LoadText.TryParse(data, runBytes, out var seq, out _) ? seq : OtherContent;
        };
    }

    /// <summary>Reads the stream until it ends or <paramref name="stop"/> is cancelled; never throws.</summary>
    /// <param name="opened">called once: when the first event arrived, or when the stream failed before that.</param>
    public async Task RunAsync(HttpClient http, SseItemParser<long> parser, DeliveryLedger ledger, TimeSpan openTimeout, Action opened, CancellationToken stop)
    {
        var signalled = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Events);
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var openBound = CancellationTokenSource.CreateLinkedTokenSource(stop);
            openBound.CancelAfter(openTimeout);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, openBound.Token);
            if (!response.IsSuccessStatusCode)
            {
                Failure = $"GET {Events} answered {(int)response.StatusCode}";
                return;
            }

            await using var body = await response.Content.ReadAsStreamAsync(openBound.Token);
            await foreach (var item in SseParser.Create(body, parser).EnumerateAsync(stop))
            {
                if (!signalled)
                {
                    Opened = true;
                    signalled = true;
                    opened();
                }

                var seq = item.Data;
                if (seq == Control)
                {
                    continue;
                }

                Volatile.Write(ref _events, _events + 1);
                if (seq >= 0)
                {
                    Record(seq, ledger);
                }
            }

            if (!stop.IsCancellationRequested)
            {
                Failure = "the server ended the stream";
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run stopped the stream.
        }
#pragma warning disable CA1031 // any failure of one stream is reported in its Failure, never thrown into the run
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Failure = ex is OperationCanceledException ? $"no first event within {openTimeout.TotalSeconds:0} s" : ex.GetBaseException().Message;
        }
        finally
        {
            if (!signalled)
            {
                opened();
            }
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
