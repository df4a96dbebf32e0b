using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;
using SseChat.Web.Streaming;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>Presence in one process, as the embedded mode wires it, for tests that build hubs by hand.</summary>
internal static class TestPresence
{
    /// <summary>A new browser (a person of its own) with this nickname.</summary>
    public static Member Person(string nick)
    {
        var id = BrowserId.New();
        return new Member(id, nick, BrowserId.AuthorTag(id));
    }

    public static PresenceTracker Tracker(InProcessChatBus bus, TimeProvider time, ChatOptions options)
    {
        var wrapped = Options.Create(options);
        return new PresenceTracker(new InProcessPresenceStore(bus, wrapped, time), wrapped, time, NullLogger<PresenceTracker>.Instance);
    }

    /// <summary>The frames a room sends, rendered by <paramref name="renderer"/>.</summary>
    public static SseFrames Frames(FragmentRenderer renderer, ChatOptions? options = null) => new(renderer, Options.Create(options ?? new ChatOptions()));

    public static PresenceFanOutFactory FanOuts(IPresence presence, FragmentRenderer renderer, ChatMetrics metrics, TimeProvider time, ChatOptions options) =>
        new(presence, Frames(renderer, options), Options.Create(options), metrics, time, NullLogger<PresenceFanOut>.Instance);

    public static PresenceFanOutFactory FanOuts(InProcessChatBus bus, FragmentRenderer renderer, ChatMetrics metrics, TimeProvider time)
    {
        var options = new ChatOptions();
        return FanOuts(Tracker(bus, time, options), renderer, metrics, time, options);
    }
}
