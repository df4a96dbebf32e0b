namespace SseChat.Web.Streaming;

/// <summary>Every log message of the streams and their rooms (2000–2099), with its event id.</summary>
internal static partial class StreamingLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "The stream of {Nick} fell too far behind (its queue of {Capacity} frames was full) and was cut off; it resumes on reconnect.")]
    public static partial void SlowClientCut(ILogger logger, string nick, int capacity);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Shutting down: told {Count} open streams to reconnect elsewhere.")]
    public static partial void ClosingStreams(ILogger logger, int count);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Room {Room}: no stream here for a while; its fan-out and subscription were dropped.")]
    public static partial void RoomDropped(ILogger logger, string room);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Room {Room}: dropping the idle fan-out failed.")]
    public static partial void RoomDropFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Room {Room}: a presence update could not be sent; the next change sends the list again.")]
    public static partial void PresenceUpdateFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "A stream could not start: an unexpected error.")]
    public static partial void StreamFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "The stream of {Nick} took nothing while frames waited for it longer than the stall bound, and was cut off; it resumes on reconnect.")]
    public static partial void StalledClientCut(ILogger logger, string nick);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Room {Room}: several of its streams here fell too far behind at once; it refuses new messages on every instance for {Duration}, so they can resume from its log.")]
    public static partial void RoomPaused(ILogger logger, string room, TimeSpan duration);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Error, Message = "Room {Room}: its readers fell behind, but the pause for every instance could not be recorded; this instance still refuses its posts.")]
    public static partial void RoomPauseFailed(ILogger logger, string room, Exception exception);
}
