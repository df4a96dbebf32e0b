using System.Collections.Concurrent;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>The rooms this instance has streams for, created on first use.</summary>
internal sealed class RoomHubs(IChatBus bus, FragmentRenderer renderer, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RoomHub> _hubs = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<RoomHub>();

    public RoomHub Get(string room) => _hubs.GetOrAdd(room, r => new RoomHub(r, bus, renderer, _logger));

    public IEnumerable<RoomHub> All => _hubs.Values;

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs.Values)
        {
            await hub.DisposeAsync().ConfigureAwait(false);
        }
    }
}
