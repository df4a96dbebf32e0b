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
internal sealed partial class StreamShutdown(RoomHubs hubs, IOptions<ChatOptions> options, TimeProvider time, ILogger<StreamShutdown> logger)
    : IHostedLifecycleService, IDisposable
{
    /// <summary>How soon the client should come back: it reconnects elsewhere, so no need to wait.</summary>
    public static readonly TimeSpan ReconnectHint = TimeSpan.FromMilliseconds(250);

    // Created with the TimeProvider so CancelAfter uses it; disposing it also stops that timer safely.
    private readonly CancellationTokenSource _hardStop = new(Timeout.InfiniteTimeSpan, time);
    private Frame _farewell;

    /// <summary>True once the instance is shutting down: new streams are refused.</summary>
    public bool IsStopping { get; private set; }

    /// <summary>Cancelled when streams still open must be cut rather than finished.</summary>
    public CancellationToken HardStop => _hardStop.Token;

    /// <summary>The frame each stream gets last when it is ended by a shutdown.</summary>
    public Frame Farewell => _farewell;

    public async Task StartingAsync(CancellationToken cancellationToken) =>
        _farewell = new Frame(await SseFrames.ControlAsync("reconnect", "", ReconnectHint).ConfigureAwait(false), null);

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        IsStopping = true;
        var open = 0;
        foreach (var hub in hubs.All)
        {
            open += hub.ConnectionCount;
            hub.Close(_farewell);
        }

        ClosingStreams(open);
        _hardStop.CancelAfter(options.Value.ShutdownTimeout / 2);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _hardStop.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: told {Count} open streams to reconnect elsewhere.")]
    private partial void ClosingStreams(int count);
}
