using System.Text.Json;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// A room's pub/sub messages straight from StackExchange.Redis's queue for the room's channel, read by the room
/// subscription's loop itself. (The queue's own <c>OnMessage</c> loop would hand each message to another loop: a
/// thread wake-up per message, as costly at light load as the fan-out it leads to.) A frame that cannot be read is
/// logged and skipped.
/// </summary>
internal sealed class RedisLiveFeed(ChannelMessageQueue queue, string room, ILogger logger) : ILiveFeed
{
    public bool TryRead(out LiveEvent live)
    {
        while (queue.TryRead(out var message))
        {
            if (TryParse(message, out live))
            {
                return true;
            }
        }

        live = default;
        return false;
    }

    public async ValueTask<LiveEvent> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Continued on the waiting loop's own thread, if it has one (LoopThreads): the message then wakes that
            // thread, not a thread-pool worker.
            var message = await queue.ReadAsync(cancellationToken).ConfigureAwait(true);
            if (TryParse(message, out var live))
            {
                return live;
            }
        }
    }

    private bool TryParse(ChannelMessage message, out LiveEvent live)
    {
        try
        {
            var (e, sequence) = RedisWireFormat.ReadFrame((string)message.Message!);
            live = new LiveEvent(e, sequence);
            return true;
        }
        catch (JsonException ex)
        {
            BusLog.MalformedFrame(logger, room, ex);
            live = default;
            return false;
        }
    }
}
