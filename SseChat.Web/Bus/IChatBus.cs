using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>
/// The one seam between the chat and its transport: every publish on a room's channel (messages and presence notices)
/// and every read of a room's log go through it. Redis (scale-out) and in-process (the embedded default) implement it
/// with the same semantics, so everything above it is one code path in both modes. (The Redis presence store's scripts
/// publish their notices in the same atomic step as the change they report, into the frame <see cref="RedisWireFormat"/>
/// defines.)
/// </summary>
public interface IChatBus
{
    /// <summary>The most events a subscription hands over in one batch.</summary>
    public const int MaxBatch = 500;

    /// <summary>
    /// Appends a message to its room's log and publishes it, as one step. Returns the message with its log id.
    /// A repeated <see cref="ChatEvent.ClientMessageId"/> is not appended again: the first message's id is returned.
    /// </summary>
    /// <exception cref="BusUnavailableException">the message was not appended (nothing was published).</exception>
    /// <exception cref="RoomBusyException">the room refuses new messages now (<see cref="RefuseMessagesAsync"/>).</exception>
    Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a room refuse new messages, on every instance, for <paramref name="duration"/> from now (a later call
    /// sets a new end): <see cref="PublishMessageAsync"/> then throws <see cref="RoomBusyException"/>, except for a
    /// repeated client id, which still gets its first append's id. For a room whose readers fell behind together
    /// (Streaming.RoomFanOutRegistry.NoteSlowReaderCutAsync): the log they resume from is the room's, so the pause must
    /// be the room's too, not one instance's.
    /// </summary>
    /// <exception cref="BusUnavailableException">the refusal could not be recorded.</exception>
    ValueTask RefuseMessagesAsync(string room, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes a presence notice on its room's channel (live only, never logged), after every notice this caller
    /// published before: a caller that publishes under its own lock keeps its notices in the order of its changes.
    /// </summary>
    /// <exception cref="BusUnavailableException">the notice was not published.</exception>
    ValueTask PublishNoticeAsync(ChatEvent notice, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="count"/> messages of a room, oldest first.</summary>
    /// <exception cref="BusUnavailableException">the log could not be read.</exception>
    Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="maxCount"/> messages logged after <paramref name="after"/>, oldest first (for resume).
    /// <see cref="LogRead.Truncated"/> says that messages after that id were already trimmed from the log.
    /// </summary>
    /// <exception cref="BusUnavailableException">the log could not be read.</exception>
    Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// Starts this instance's single subscription to a room. The handler gets every event once, in publish order, in
    /// batches: each holds the events that were waiting when delivery got to them (one, when the room keeps up), and is
    /// only valid during the call. It is called one batch at a time; it must not throw and must not block.
    /// </summary>
    /// <exception cref="BusUnavailableException">the subscription could not be made.</exception>
    Task<IRoomSubscription> SubscribeAsync(string room, Action<IReadOnlyList<ChatEvent>> handler, CancellationToken cancellationToken);
}
