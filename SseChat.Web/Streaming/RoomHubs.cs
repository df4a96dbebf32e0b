using System.Collections.Concurrent;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Streaming;

/// <summary>The rooms this instance has streams for, created on first use.</summary>
internal sealed class RoomHubs(IChatBus bus, FragmentRenderer renderer, ChatMetrics metrics) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RoomHub> _hubs = new(StringComparer.Ordinal);

    public RoomHub Get(string room) => _hubs.GetOrAdd(room, r => new RoomHub(r, bus, renderer, metrics));

    public IEnumerable<RoomHub> All => _hubs.Values;

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs.Values)
        {
            await hub.DisposeAsync().ConfigureAwait(false);
        }
    }
}
