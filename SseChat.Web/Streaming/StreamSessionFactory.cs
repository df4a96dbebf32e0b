using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>Opens <see cref="StreamSession"/>s, and holds the services and settings they share.</summary>
internal sealed class StreamSessionFactory(
    RoomFanOutRegistry rooms,
    IChatBus bus,
    SseFrames frames,
    IPresence presence,
    StreamShutdown shutdown,
    ChatMetrics metrics,
    IOptions<ChatOptions> options,
    ILogger<StreamSession> logger)
{
    public RoomFanOutRegistry Rooms => rooms;

    public IChatBus Bus => bus;

    public SseFrames Frames => frames;

    public IPresence Presence => presence;

    public StreamShutdown Shutdown => shutdown;

    public ChatMetrics Metrics => metrics;

    public ILogger Logger => logger;

    /// <summary>True once the instance is shutting down: new streams are refused.</summary>
    public bool IsStopping => shutdown.IsStopping;

    /// <inheritdoc cref="StreamSession.ServeAsync"/>
    public Task ServeAsync(HttpContext context, string room, Member member, LogId? resumeAfter, StreamLimits.Permit permit) =>
        StreamSession.ServeAsync(this, rooms.Acquire(room), member, resumeAfter, options.Value.StreamQueueCapacity, context, permit);
}
