namespace SseChat.Web.Bus;

/// <summary>
/// How long the oldest event not yet handed over has waited (<see cref="IRoomSubscription.Lag"/>), kept by the one loop
/// that reads a queue whose events carry no arrival time (StackExchange.Redis's pub/sub queue: see
/// <see cref="RedisLiveFeed"/>). The loop stamps what it sees. The first event of a batch, taken when it knew of none
/// waiting, counts from when it is taken (<see cref="BatchStarted"/>): that misses only an idle loop's wake-up. What
/// still waits when a batch has been handed over arrived after the loop last found the queue empty
/// (<see cref="FoundEmpty"/>) or, when the batch was full, no earlier than the batch's own oldest: that can count up to
/// one batch's handling too many. A backlog is never missed, which is what the clock is for.
/// </summary>
internal sealed class WaitingClock(TimeProvider time)
{
    // When the oldest event not yet handed over arrived, as above (a TimeProvider timestamp), or 0 when none waits; and
    // when the loop last found the queue empty while gathering the batch it is handling (0: it did not).
    private long _oldest;
    private long _emptiedAt;

    /// <summary>How long the oldest event not yet handed over has waited; zero when none waits.</summary>
    public TimeSpan Lag
    {
        get
        {
            var oldest = Volatile.Read(ref _oldest);
            return oldest == 0 ? TimeSpan.Zero : time.GetElapsedTime(oldest);
        }
    }

    /// <summary>The loop found nothing waiting and waits for the next event.</summary>
    public void Idle() => Volatile.Write(ref _oldest, 0);

    /// <summary>
    /// The loop takes the first event of a batch. If it knew of none waiting (it was idle, or has just started), that
    /// event arrived now.
    /// </summary>
    public void BatchStarted()
    {
        if (Volatile.Read(ref _oldest) == 0)
        {
            Volatile.Write(ref _oldest, time.GetTimestamp());
        }
    }

    /// <summary>The loop found the queue empty while gathering a batch: what it holds later arrived after now.</summary>
    public void FoundEmpty() => _emptiedAt = time.GetTimestamp();

    /// <summary>
    /// A batch was handed over. What waits now arrived after the queue was last found empty; if it was not (a full
    /// batch), the batch's oldest stays the bound.
    /// </summary>
    public void HandedOver()
    {
        if (_emptiedAt != 0)
        {
            Volatile.Write(ref _oldest, _emptiedAt);
            _emptiedAt = 0;
        }
    }
}
