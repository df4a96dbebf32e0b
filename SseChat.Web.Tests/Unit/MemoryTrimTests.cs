using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.Unit;

public sealed class MemoryTrimTests
{
    private const long MB = 1024 * 1024;

    [Theory]
    // after a burst of 10,000 streams: 310 MB committed for 150 MB of live objects
    [InlineData(310 * MB, 160 * MB, 10 * MB, true)]
    // a small instance with a little slack: not worth a pause
    [InlineData(100 * MB, 60 * MB, 0, false)]
    // slack above 64 MB but under half of a large live heap
    [InlineData(1300 * MB, 1000 * MB, 0, false)]
    // the same heap with half of it free gaps: the gaps count as slack
    [InlineData(1300 * MB, 1000 * MB, 500 * MB, true)]
    public void A_trim_is_worth_it_only_when_committed_memory_far_exceeds_the_live_objects(
        long committed, long heap, long fragmented, bool expected)
    {
        Assert.Equal(expected, MemoryTrim.IsWorthTrimming(committed, heap, fragmented));
    }
}
