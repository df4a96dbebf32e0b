using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>
/// Graceful shutdown of the streams (SIGTERM, Ctrl+C). When the host starts stopping, every open stream gets a
/// named <c>reconnect</c> event with a short <c>retry:</c> hint and is then ended after what it had queued, so its
/// client reconnects at once (through the balancer, to another instance) and resumes from its Last-Event-ID. New
/// streams are refused with 503 from then on. A stream that cannot be finished in time (a stalled client) is cut
/// after half the shutdown timeout, so the process exits within that timeout.
/// </summary>
internal sealed class StreamShutdown(RoomFanOutRegistry rooms, SseFrames frames, IOptions<ChatOptions> options, TimeProvider time, ILogger<StreamShutdown> logger)
    : IHostedLifecycleService, IDisposable
{
    // Created with the TimeProvider so CancelAfter uses it; disposing it also stops that timer safely.
    private readonly CancellationTokenSource _hardStop = new(Timeout.InfiniteTimeSpan, time);

    /// <summary>True once the instance is shutting down: new streams are refused.</summary>
    public bool IsStopping { get; private set; }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        IsStopping = true;
        var open = 0;
        foreach (var room in rooms.All)
        {
            open += room.StreamCount;
            room.Close(frames.Reconnect);
        }

        StreamingLog.ClosingStreams(logger, open);
        // Streams still open at half the shutdown timeout (a stalled client) are cut, so the process exits in time.
        _hardStop.Token.UnsafeRegister(static state =>
        {
            foreach (var room in ((RoomFanOutRegistry)state!).All)
            {
                room.Abort();
            }
        }, rooms);
        _hardStop.CancelAfter(options.Value.ShutdownTimeout / 2);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _hardStop.Dispose();
}
