namespace SseChat.Web.Hosting;

/// <summary>Every log message of the host (4000–4099), with its event id.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "SseChat is running with the {Mode}. Open {Url} in a browser.")]
    public static partial void Running(ILogger logger, string mode, string url);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Quiet after a burst: gave memory back ({Before} MB committed, now {After} MB for a {Heap} MB heap; a {PauseMs:0} ms pause).")]
    public static partial void MemoryTrimmed(ILogger logger, long before, long after, long heap, double pauseMs);
}
