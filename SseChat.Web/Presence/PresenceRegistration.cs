using Microsoft.Extensions.Options;
using SseChat.Web.Bus;

namespace SseChat.Web.Presence;

/// <summary>Registers presence with the store that matches the bus: Redis when Redis is configured, memory otherwise.</summary>
public static class PresenceRegistration
{
    public static IServiceCollection AddSseChatPresence(this IServiceCollection services)
    {
        services.AddSingleton<InProcessPresenceStore>();
        services.AddSingleton<RedisPresenceStore>();
        services.AddSingleton<IPresenceStore>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? sp.GetRequiredService<RedisPresenceStore>()
            : sp.GetRequiredService<InProcessPresenceStore>());
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<IPresence>(sp => sp.GetRequiredService<PresenceTracker>());
        services.AddHostedService<PresenceMaintenance>();
        return services;
    }
}
