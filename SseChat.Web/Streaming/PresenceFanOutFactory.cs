using Microsoft.Extensions.Options;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>Makes the <see cref="PresenceFanOut"/> of each room, with the services and settings they share.</summary>
internal sealed class PresenceFanOutFactory(
    IPresence presence, SseFrames frames, IOptions<ChatOptions> options, ChatMetrics metrics, TimeProvider time, ILogger<PresenceFanOut> logger)
{
    public PresenceFanOut Create(RoomFanOut room) =>
        new(room, presence, frames, options.Value.PresenceCoalesceWindow, metrics, time, logger);
}
