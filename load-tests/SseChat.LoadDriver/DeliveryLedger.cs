using System.Diagnostics;
using HdrHistogram;

namespace SseChat.LoadDriver;

/// <summary>
/// What the publishers and the streams share: when each message was sent (high-resolution, indexed by sequence
/// number), which messages the chat accepted, and the latency histogram every stream records into.
/// </summary>
internal sealed class DeliveryLedger
{
    /// <summary>Latencies above this (µs) are recorded as this: the histogram's range ends here.</summary>
    public const long MaxTrackedMicroseconds = 10 * 60 * 1_000_000L;

    private readonly long[] _sentAt;
    private readonly ulong[] _accepted;
    private readonly long[]? _lastArrival;

    /// <param name="trackArrivals">keep, per message, when its latest delivery to any stream arrived (fault runs: time to recover).</param>
    public DeliveryLedger(int messageCount, bool trackArrivals = false)
    {
        MessageCount = messageCount;
        _sentAt = new long[messageCount];
        _accepted = new ulong[Bitmaps.Words(messageCount)];
        _lastArrival = trackArrivals ? new long[messageCount] : null;
    }

    public int MessageCount { get; }

    public LongConcurrentHistogram Latency { get; } = new(1, MaxTrackedMicroseconds, 3);

    public LongConcurrentHistogram PostLatency { get; } = new(1, MaxTrackedMicroseconds, 3);

    public ReadOnlySpan<ulong> Accepted => _accepted;

    public void MarkSent(long seq, long timestamp) => Volatile.Write(ref _sentAt[seq], timestamp);

    /// <summary>Called by the one task that posted the message; read only after all POSTs completed.</summary>
    public void MarkAccepted(long seq) => Interlocked.Or(ref _accepted[seq >> 6], 1UL << (int)(seq & 63));

    /// <summary>When the message was handed to its POST (Stopwatch timestamp; 0: not yet).</summary>
    public long SentAt(long seq) => Volatile.Read(ref _sentAt[seq]);

    /// <summary>When the latest of the message's deliveries arrived (0: none, or arrivals are not tracked).</summary>
    public long LastArrival(long seq) => _lastArrival is null ? 0 : Volatile.Read(ref _lastArrival[seq]);

    public bool IsAccepted(long seq) => (Volatile.Read(ref _accepted[seq >> 6]) & (1UL << (int)(seq & 63))) != 0;

    public void RecordDelivery(long seq, long receivedAt)
    {
        if (_lastArrival is not null)
        {
            ref var slot = ref _lastArrival[seq];
            long seen;
            while ((seen = Volatile.Read(ref slot)) < receivedAt && Interlocked.CompareExchange(ref slot, receivedAt, seen) != seen)
            {
            }
        }

        var sentAt = Volatile.Read(ref _sentAt[seq]);
        if (sentAt != 0)
        {
            Latency.RecordValue(Math.Clamp(Micros(sentAt, receivedAt), 1, MaxTrackedMicroseconds));
        }
    }

    public void RecordPost(long sentAt, long answeredAt) =>
        PostLatency.RecordValue(Math.Clamp(Micros(sentAt, answeredAt), 1, MaxTrackedMicroseconds));

    private static long Micros(long from, long to) => Stopwatch.GetElapsedTime(from, to).Ticks / TimeSpan.TicksPerMicrosecond;
}

/// <summary>Bit sets as ulong arrays: one bit per message sequence number.</summary>
internal static class Bitmaps
{
    public static int Words(int bits) => (bits + 63) >> 6;

    /// <summary>Bits set in both.</summary>
    public static long CountBoth(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        long n = 0;
        for (var i = 0; i < a.Length; i++)
        {
            n += (long)ulong.PopCount(a[i] & b[i]);
        }

        return n;
    }

    /// <summary>Bits set in <paramref name="a"/> but not in <paramref name="b"/>.</summary>
    public static long CountOnlyFirst(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        long n = 0;
        for (var i = 0; i < a.Length; i++)
        {
            n += (long)ulong.PopCount(a[i] & ~b[i]);
        }

        return n;
    }

    public static long Count(ReadOnlySpan<ulong> a)
    {
        long n = 0;
        foreach (var word in a)
        {
            n += (long)ulong.PopCount(word);
        }

        return n;
    }
}
