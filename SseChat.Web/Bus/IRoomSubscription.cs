namespace SseChat.Web.Bus;

/// <summary>This instance's subscription to a room, as <see cref="IChatBus.SubscribeAsync"/> hands it out.</summary>
public interface IRoomSubscription : IAsyncDisposable
{
    /// <summary>
    /// How far behind the delivery to the handler is: how long the oldest event not yet handed over has waited (zero when
    /// nothing waits). It grows when the room's fan-out on this instance cannot keep up.
    /// </summary>
    TimeSpan Lag { get; }
}
