namespace SseChat.Web.Hosting;

/// <summary>Every log message of the host (4000–4099), with its event id.</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "SseChat is running with the {Mode}. Open {Url} in a browser.")]
    public static partial void Running(ILogger logger, string mode, string url);
}
