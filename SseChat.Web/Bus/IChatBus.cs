using SseChat.Web.Chat;

namespace SseChat.Web.Bus;

/// <summary>
/// The one seam between the chat and its transport. Redis (scale-out) and in-process (the embedded default)
/// implement it with the same semantics, so everything above it is one code path in both modes.
/// </summary>
public interface IChatBus
{
    /// <summary>
    /// Appends a message to its room's log and publishes it, as one step. Returns the message with its log id.
    /// A repeated <see cref="ChatEvent.ClientMessageId"/> is not appended again: the first message's id is returned.
    /// </summary>
    /// <exception cref="BusUnavailableException">the message was not appended (nothing was published).</exception>
    Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="count"/> messages of a room, oldest first.</summary>
    Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="maxCount"/> messages logged after <paramref name="after"/>, oldest first (for resume).
    /// <see cref="LogRead.Truncated"/> says that messages after that id were already trimmed from the log.
    /// </summary>
    Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// Starts this instance's single subscription to a room. The handler is called for every event, one at a time,
    /// in publish order; it must not throw and should not block.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string room, Func<ChatEvent, ValueTask> handler, CancellationToken cancellationToken);
}

/// <param name="Events">The messages found, oldest first.</param>
/// <param name="Truncated">True when the log no longer holds every message after the requested id.</param>
public sealed record LogRead(IReadOnlyList<ChatEvent> Events, bool Truncated);

/// <summary>The bus could not take the event; the caller tells its user "not sent, try again".</summary>
public sealed class BusUnavailableException : Exception
{
    public BusUnavailableException(string message, Exception? inner = null) : base(message, inner) { }

    public BusUnavailableException() : base("The message bus is unavailable.") { }

    public BusUnavailableException(string message) : base(message) { }
}
