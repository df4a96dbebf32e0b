namespace SseChat.Web.Bus;

/// <summary>
/// A room's live events as pub/sub delivers them, in publish order, read by the room subscription's loop alone
/// (<see cref="RedisLiveFeed"/>; tests feed a channel).
/// </summary>
internal interface ILiveFeed
{
    /// <summary>The next event if one is waiting.</summary>
    bool TryRead(out LiveEvent live);

    /// <summary>
    /// The next event, when it comes. Throws <see cref="System.Threading.Channels.ChannelClosedException"/> once the feed
    /// has ended (unsubscribed), <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires
    /// first; a cancelled read takes nothing.
    /// </summary>
    ValueTask<LiveEvent> ReadAsync(CancellationToken cancellationToken);
}
