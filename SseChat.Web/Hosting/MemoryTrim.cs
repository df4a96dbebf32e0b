using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Hosting;

/// <summary>
/// Gives memory back after a burst. The GC keeps what it committed to serve a burst (thousands of streams opened, a
/// flood of messages), and only a collection gives memory back; an instance that then holds idle streams allocates
/// too little to run one, so it would keep that memory for good. When the instance has allocated almost nothing for
/// <see cref="QuietFor"/> and has far more memory committed than its live objects use, one aggressive collection
/// compacts the heap and returns the rest to the system: a blocking pause (0.9 s measured with a 140 MB heap on a busy 2-core
/// machine), taken at a quiet moment and at most once per <c>Chat:MemoryTrimInterval</c>.
/// </summary>
internal sealed class MemoryTrim(IOptions<ChatOptions> options, TimeProvider time, ILogger<MemoryTrim> logger) : BackgroundService
{
    /// <summary>How often the allocation rate and the committed memory are looked at.</summary>
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    /// <summary>How long the instance must have been quiet before a trim.</summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Allocating less than this per second is quiet: heartbeats and presence renewals, not a burst. An instance holding
    /// 10,000 idle streams allocates 1–1.5 MB/s (presence renewals every few seconds), so the bound scales to the
    /// 20,000 streams an instance allows by default.
    /// </summary>
    public const long QuietBytesPerSecond = 8 * 1024 * 1024;

    /// <summary>Committed memory beyond the live objects worth a trim: at least this, and at least a quarter of what they take.</summary>
    public const long WorthTrimmingBytes = 32 * 1024 * 1024;

    /// <summary>
    /// True when the GC holds far more memory than the live objects take, as of the last collection: the heap without its
    /// free gaps against what is held, at least <see cref="WorthTrimmingBytes"/> apart and at least a quarter of the live
    /// size. What is held is the larger of what the last collection left committed and what the heap holds now
    /// (<paramref name="heapNow"/>, <see cref="GC.GetTotalMemory(bool)"/>): the collection figures are only as new as the
    /// last collection, and after a burst the last one may have run in its middle, with most of the burst allocated
    /// after it and no collection since on an instance that has gone quiet.
    /// </summary>
    /// <remarks>
    /// Half the live size was asked before, and about one burst in six missed it: after an ephemeral collection the
    /// "live" figure still counts the older generations' garbage, and 220 MB held for 152 MB "live" kept 7 KiB per
    /// stream that the trim would have given back. A floor of 64 MB then missed 62 MB held beyond 151 MB "live" (25
    /// KiB per stream instead of 18); the pause a trim costs grows with the live heap, not with what it gives back, so
    /// the floor only keeps small instances from pausing for a few megabytes.
    /// </remarks>
    public static bool IsWorthTrimming(long committedBytes, long heapNow, long heapBytes, long fragmentedBytes)
    {
        var live = heapBytes - fragmentedBytes;
        return Math.Max(committedBytes, heapNow) - live >= Math.Max(WorthTrimmingBytes, live / 4);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.MemoryTrimInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(CheckEvery, time);
        var lastAllocated = GC.GetTotalAllocatedBytes();
        var quietSince = time.GetTimestamp();
        var lastTrim = long.MinValue;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var allocated = GC.GetTotalAllocatedBytes();
            var now = time.GetTimestamp();
            if (allocated - lastAllocated > QuietBytesPerSecond * CheckEvery.TotalSeconds)
            {
                quietSince = now;
            }

            var info = GC.GetGCMemoryInfo();
            var heapNow = GC.GetTotalMemory(forceFullCollection: false);
            var quiet = time.GetElapsedTime(quietSince, now);
            HostingLog.MemoryChecked(logger, (allocated - lastAllocated) >> 20, CheckEvery.TotalSeconds, quiet.TotalSeconds,
                info.TotalCommittedBytes >> 20, heapNow >> 20, (info.HeapSizeBytes - info.FragmentedBytes) >> 20, info.Generation, info.Index);
            lastAllocated = allocated;
            if (quiet < QuietFor
                || (lastTrim != long.MinValue && time.GetElapsedTime(lastTrim, now) < interval)
                || !IsWorthTrimming(info.TotalCommittedBytes, heapNow, info.HeapSizeBytes, info.FragmentedBytes))
            {
                continue;
            }

            lastTrim = now;
            var residentBefore = Environment.WorkingSet;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var after = GC.GetGCMemoryInfo(GCKind.Any);
            NativeHeap.TryTrim();
            HostingLog.MemoryTrimmed(logger, info.TotalCommittedBytes >> 20, after.TotalCommittedBytes >> 20, after.HeapSizeBytes >> 20,
                after.PauseDurations.Length > 0 ? after.PauseDurations[0].TotalMilliseconds : 0, residentBefore >> 20, Environment.WorkingSet >> 20);
            lastAllocated = GC.GetTotalAllocatedBytes();
        }
    }
}
