namespace SseChat.Web.Hosting;

/// <summary>Every log message of the host (4000–4099), with its event id.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "SseChat is running with the {Mode}. Open {Url} in a browser.")]
    public static partial void Running(ILogger logger, string mode, string url);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Quiet after a burst: gave memory back ({Before} MB committed, now {After} MB for a {Heap} MB heap; a {PauseMs:0} ms pause; resident {ResidentBefore} MB, now {ResidentAfter} MB).")]
    public static partial void MemoryTrimmed(ILogger logger, long before, long after, long heap, double pauseMs, long residentBefore, long residentAfter);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Memory check: {AllocatedMB} MB allocated in {Seconds} s, quiet for {QuietSeconds:0} s; {Committed} MB committed, {HeapNow} MB in the heap now, {Live} MB live at the last collection (gen {Generation}, #{Index}).")]
    public static partial void MemoryChecked(ILogger logger, long allocatedMB, double seconds, double quietSeconds, long committed, long heapNow, long live, int generation, long index);
}
