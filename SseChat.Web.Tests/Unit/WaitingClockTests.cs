using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The delivery-lag clock of a queue whose events carry no arrival time: what it reports is never less than how long
/// a backlog has waited, so a room that falls behind is seen as behind.
/// </summary>
public sealed class WaitingClockTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch.AddDays(1));

    [Fact]
    public void An_idle_loop_has_no_lag_and_the_first_event_it_takes_then_counts_from_when_it_is_taken()
    {
        var clock = new WaitingClock(_time);
        clock.Idle();
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.Zero, clock.Lag);

        clock.BatchStarted();
        _time.Advance(TimeSpan.FromMilliseconds(300)); // the batch is being handled
        Assert.Equal(TimeSpan.FromMilliseconds(300), clock.Lag);
    }

    [Fact]
    public void What_waits_after_a_batch_counts_from_when_the_queue_was_last_found_empty()
    {
        var clock = new WaitingClock(_time);
        clock.BatchStarted();
        clock.FoundEmpty();
        _time.Advance(TimeSpan.FromSeconds(2)); // a slow fan-out; events arrive meanwhile
        clock.HandedOver();
        _time.Advance(TimeSpan.FromSeconds(1)); // the next batch is being handled

        Assert.Equal(TimeSpan.FromSeconds(3), clock.Lag);
        clock.FoundEmpty();
        clock.HandedOver();
        Assert.Equal(TimeSpan.Zero, clock.Lag);
        clock.Idle();
        Assert.Equal(TimeSpan.Zero, clock.Lag);
    }

    [Fact]
    public void After_a_full_batch_the_backlog_keeps_counting_from_the_batchs_oldest()
    {
        var clock = new WaitingClock(_time);
        clock.BatchStarted();
        _time.Advance(TimeSpan.FromSeconds(1));
        clock.HandedOver(); // full: the queue was never found empty, so what waits came before the batch was taken
        _time.Advance(TimeSpan.FromSeconds(1));
        clock.HandedOver();
        clock.BatchStarted(); // the next batch: its events are the backlog's, not new ones

        Assert.Equal(TimeSpan.FromSeconds(2), clock.Lag);
    }
}
