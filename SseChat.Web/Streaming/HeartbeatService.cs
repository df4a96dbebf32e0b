using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>
/// One timer per instance (not per stream) sends a <c>ping</c> event to every open stream, so proxies keep idle
/// streams open and clients notice a dead connection. First it cuts off the streams whose client has taken nothing for
/// <see cref="StallBound"/> while frames waited for it, at the latest two intervals after it stopped reading (the ping
/// itself then waits): they resume from their Last-Event-ID when their client reads again.
/// </summary>
internal sealed class HeartbeatService(RoomFanOutRegistry rooms, SseFrames frames, IOptions<ChatOptions> options, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan MinimumStallBound = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long frames may wait for a client that takes nothing: a heartbeat interval, never less than 5 s (the grace
    /// Kestrel gives a response before its minimum data rate applies), so a short interval cannot cut off a client that
    /// is only briefly slow.
    /// </summary>
    internal static TimeSpan StallBound(TimeSpan interval) => interval > MinimumStallBound ? interval : MinimumStallBound;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeartbeatInterval;
        var stalled = StallBound(interval);
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            foreach (var room in rooms.All)
            {
                room.CutStalled(stalled);
                room.Broadcast(frames.Ping);
            }
        }
    }
}
