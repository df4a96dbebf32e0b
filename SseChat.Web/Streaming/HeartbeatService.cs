using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>
/// One timer per instance (not per stream) sends a <c>ping</c> event to every open stream, so proxies keep idle
/// streams open and clients notice a dead connection.
/// </summary>
internal sealed class HeartbeatService(RoomFanOutRegistry rooms, SseFrames frames, IOptions<ChatOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var room in rooms.All)
            {
                room.Broadcast(frames.Ping);
            }
        }
    }
}
