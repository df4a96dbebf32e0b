using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>
/// One timer per instance (not per stream) queues a <c>ping</c> event on every open stream, so proxies keep
/// idle streams open and clients notice a dead connection. SseFormatter writes no comment lines, hence a
/// named event, which htmx dispatches as a DOM event and never swaps.
/// </summary>
internal sealed class HeartbeatService(RoomHubs hubs, IOptions<ChatOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ping = new Frame(await SseFrames.ControlAsync("ping", "").ConfigureAwait(false), null);
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var hub in hubs.All)
            {
                hub.Broadcast(ping);
            }
        }
    }
}
