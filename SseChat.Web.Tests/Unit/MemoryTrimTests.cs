using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.Unit;

public sealed class MemoryTrimTests
{
    private const long MB = 1024 * 1024;

    [Theory]
    // after a burst of 10,000 streams: 310 MB committed for 150 MB of live objects
    [InlineData(310 * MB, 160 * MB, 160 * MB, 10 * MB, true)]
    // a small instance with a little slack: not worth a pause
    [InlineData(80 * MB, 60 * MB, 60 * MB, 0, false)]
    // slack above 32 MB but under a quarter of a large live heap
    [InlineData(1200 * MB, 1000 * MB, 1000 * MB, 0, false)]
    // after a burst whose last collection was an ephemeral one (its "live" counts the older generations' garbage): 220
    // MB held for 152 MB "live", where a full compacting collection left 142 MB (a run whose trim was missed)
    [InlineData(220 * MB, 194 * MB, 152 * MB, 0, true)]
    // 62 MB held beyond 151 MB "live" after 10,000 streams opened with a page load each: a run the 64 MB floor missed
    // (25 KiB per stream instead of 18)
    [InlineData(213 * MB, 181 * MB, 151 * MB, 0, true)]
    // the same heap with half of it free gaps: the gaps count as slack
    [InlineData(1300 * MB, 1000 * MB, 1000 * MB, 500 * MB, true)]
    // the last collection ran early in the burst (120 MB committed, 110 MB heap) and none since: the 300 MB the heap
    // holds now are what a collection would give back
    [InlineData(120 * MB, 300 * MB, 110 * MB, 0, true)]
    // a quiet instance that allocated a little since its last collection
    [InlineData(190 * MB, 170 * MB, 160 * MB, 0, false)]
    public void A_trim_is_worth_it_only_when_the_memory_held_far_exceeds_the_live_objects(
        long committedAtLastCollection, long heapNow, long heapAtLastCollection, long fragmented, bool expected)
    {
        Assert.Equal(expected, MemoryTrim.IsWorthTrimming(committedAtLastCollection, heapNow, heapAtLastCollection, fragmented));
    }
}
