namespace SseChat.Web.Bus;

/// <summary>Reads at most <paramref name="maxCount"/> entries of a room's log after an id, oldest first.</summary>
/// <exception cref="BusUnavailableException">the log could not be read.</exception>
internal delegate Task<IReadOnlyList<LoggedEvent>> RoomLogReader(LogId after, int maxCount, CancellationToken cancellationToken);
