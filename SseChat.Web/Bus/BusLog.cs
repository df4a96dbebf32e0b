using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>Every log message of the bus (1000–1099), with its event id.</summary>
internal static partial class BusLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Redis {Operation} for room {Room} failed.")]
    public static partial void RedisFailed(ILogger logger, string operation, string room, Exception exception);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Room {Room}: client message id {ClientMessageId} was sent before as {Id}; not appended again.")]
    public static partial void DuplicateIgnored(ILogger logger, string room, string clientMessageId, LogId id);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Room {Room}: a log entry could not be decoded and was skipped.")]
    public static partial void MalformedLogEntry(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Room {Room}: a pub/sub frame could not be decoded and was skipped.")]
    public static partial void MalformedFrame(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection to {EndPoint} lost ({FailureType}).")]
    public static partial void ConnectionLost(ILogger logger, ConnectionType connectionType, string? endPoint, ConnectionFailureType failureType, Exception? exception);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Redis {ConnectionType} connection to {EndPoint} restored; rooms catch up from the log.")]
    public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string? endPoint);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Room {Room}: could not unsubscribe; Redis is not reachable.")]
    public static partial void UnsubscribeFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Room {Room}: its channel is now subscribed at {EndPoint}; it catches up from the log.")]
    public static partial void Resubscribed(ILogger logger, string room, string endPoint);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Room {Room}: pub/sub went from sequence {Last} to {Next}; reading the gap from the log.")]
    public static partial void GapDetected(ILogger logger, string room, long last, long next);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Room {Room}: delivered {Count} messages from the log that pub/sub had not brought yet (late or lost).")]
    public static partial void CaughtUp(ILogger logger, string room, int count);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Room {Room}: the log could not be read after {Id}; live messages wait until it can (retrying soon).")]
    public static partial void CatchUpFailed(ILogger logger, string room, LogId id, Exception exception);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Room {Room}: the log was read again; delivery goes on from {Id}.")]
    public static partial void Repaired(ILogger logger, string room, LogId id);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Error, Message = "Room {Room}: the subscriber failed on an event.")]
    public static partial void HandlerFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information, Message = "Made the key ring's first Data Protection key, {KeyId}, for every instance.")]
    public static partial void FirstKeyMade(ILogger logger, Guid keyId);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Warning, Message = "Could not make sure of one first Data Protection key for every instance ({Reason}); the framework makes its own if it needs one.")]
    public static partial void FirstKeyNotChecked(ILogger logger, string reason, Exception? exception);
}
