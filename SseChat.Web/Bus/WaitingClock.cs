namespace SseChat.Web.Bus;

/// <summary>
/// How long the oldest event in a subscription's queue has waited to be handed over (<see cref="IRoomSubscription.Lag"/>).
/// The queue's writers call <see cref="Arrived"/> and keep the timestamp with the event; its one reader calls
/// <see cref="Taken"/> for each event it takes out and <see cref="HandedOver"/> after each batch.
/// </summary>
internal sealed class WaitingClock(TimeProvider time)
{
    // When the oldest event not yet handed over arrived (a TimeProvider timestamp), or 0 when none waits; and how many
    // events wait in the queue.
    private long _oldest;
    private int _waiting;

    /// <summary>How long the oldest event not yet handed over has waited; zero when none waits.</summary>
    public TimeSpan Lag
    {
        get
        {
            var oldest = Volatile.Read(ref _oldest);
            return oldest == 0 ? TimeSpan.Zero : time.GetElapsedTime(oldest);
        }
    }

    /// <summary>An event enters the queue; returns when, to be given back to <see cref="Taken"/>.</summary>
    public long Arrived()
    {
        var now = time.GetTimestamp();
        Interlocked.Increment(ref _waiting);
        Interlocked.CompareExchange(ref _oldest, now, 0);
        return now;
    }

    /// <summary>The reader took an event out; the first of a batch is the oldest of those not yet handed over.</summary>
    public void Taken(long arrivedAt, bool firstOfBatch)
    {
        Interlocked.Decrement(ref _waiting);
        if (firstOfBatch)
        {
            Volatile.Write(ref _oldest, arrivedAt);
        }
    }

    /// <summary>A batch was handed over: with nothing left in the queue, nothing waits (an event arriving now sets it again when it finds it zero).</summary>
    public void HandedOver()
    {
        if (Volatile.Read(ref _waiting) == 0)
        {
            Interlocked.Exchange(ref _oldest, 0);
        }
    }
}
