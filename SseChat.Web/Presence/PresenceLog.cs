namespace SseChat.Web.Presence;

/// <summary>Every log message of presence (3000–3099), with its event id.</summary>
internal static partial class PresenceLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Presence in room {Room}: the store is unreachable; people are taken in (or let go) when it is back.")]
    public static partial void StoreUnavailable(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Presence in room {Room}: {Count} people held here were missing from the store and are back in.")]
    public static partial void Restored(ILogger logger, string room, int count);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Presence in room {Room}: letting someone go after the grace failed; their hold expires instead.")]
    public static partial void DelayedLeaveFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Presence: {Count} people whose instance stopped renewing them were announced as left.")]
    public static partial void SweptAway(ILogger logger, int count);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Presence in room {Room}: a stored member could not be decoded and was skipped.")]
    public static partial void MalformedMember(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Presence {What} failed; it runs again at the next interval.")]
    public static partial void RoundFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Presence in room {Room}: the rooms index could not be updated; a sweep writes it again.")]
    public static partial void IndexFailed(ILogger logger, string room, Exception exception);
}
