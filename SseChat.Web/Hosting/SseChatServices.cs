using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Streaming;
using StackExchange.Redis;

namespace SseChat.Web.Hosting;

/// <summary>The chat's services, one feature per method; Program.cs calls them in order.</summary>
public static class SseChatServices
{
    /// <summary>The "Chat" and "Redis" settings, bound and validated at start: a bad value stops the app naming the setting.</summary>
    public static IServiceCollection AddSseChatOptions(this IServiceCollection services)
    {
        services.BindSection<ChatOptions>(ChatOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.BindSection<RedisOptions>(RedisOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>The bus: Redis when <c>Redis:Configuration</c> is set, else in-process; chosen when it is first needed.</summary>
    public static IServiceCollection AddSseChatBus(this IServiceCollection services)
    {
        services.AddResiliencePipeline(RedisResilience.Writes, (pipeline, context) =>
            RedisResilience.ConfigureWrites(pipeline, context.ServiceProvider.GetRequiredService<IOptions<RedisOptions>>().Value.BreakDuration));
        services.AddResiliencePipeline(RedisResilience.Reads, RedisResilience.ConfigureReads);
        services.AddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        services.AddSingleton<IConnectionMultiplexer>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Connect());
        services.AddSingleton<RedisReplicaWait>();
        services.AddSingleton<RedisGateway>();
        services.AddSingleton<InProcessChatBus>();
        services.AddSingleton<LoopThreads>();
        services.AddSingleton<RedisChatBus>();
        services.AddSingleton<IChatBus>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? sp.GetRequiredService<RedisChatBus>()
            : sp.GetRequiredService<InProcessChatBus>());
        return services;
    }

    /// <summary>The streams: each room's fan-out, the sessions, the heartbeat and the graceful shutdown.</summary>
    public static IServiceCollection AddSseChatStreaming(this IServiceCollection services)
    {
        services.AddSingleton<FragmentRenderer>();
        services.AddSingleton<SseFrames>();
        services.AddSingleton<PresenceFanOutFactory>();
        services.AddSingleton<RoomFanOutRegistry>();
        services.AddSingleton<IDeliveryLag>(sp => sp.GetRequiredService<RoomFanOutRegistry>());
        services.AddSingleton<StreamSessionFactory>();
        services.AddHostedService<HeartbeatService>();
        services.AddHostedService<MemoryTrim>();
        services.AddSingleton<StreamShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamShutdown>());
        services.AddOptions<HostOptions>().Configure<IOptions<ChatOptions>>((host, chat) => host.ShutdownTimeout = chat.Value.ShutdownTimeout);
        return services;
    }

    /// <summary>
    /// Antiforgery tokens and cookies must validate on every instance: one application name everywhere, and with Redis
    /// the key ring lives there instead of in each host's home folder.
    /// </summary>
    public static IServiceCollection AddSseChatDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("SseChat");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((keyManagement, sp) =>
        {
            if (sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled)
            {
                keyManagement.XmlRepository = new RedisKeyRing(() => sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<RedisKeys>());
            }
        });
        services.AddHostedService<FirstKeyOnce>();   // one first key for instances that start together (see the class)
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "ssechat-af";
            o.Cookie.SameSite = SameSiteMode.Lax;
            // The framework's default is never Secure; Secure whenever the browser's request was HTTPS.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        return services;
    }

    /// <summary>What the server accepts: request bodies (Kestrel and forms) up to <c>Chat:MaxRequestBodyBytes</c>, sends on the flushing thread.</summary>
    public static IServiceCollection AddSseChatServerLimits(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ChatOptions>>((kestrel, chat) =>
        {
            kestrel.Limits.MaxRequestBodySize = chat.Value.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
            // Kestrel otherwise keeps a request's header values after the request, to reuse them for the connection's
            // next one; an open stream's connection has no next request, and a stream clears its headers once read
            // (EventsEndpoint.ReleaseRequestHeaders): without reuse, clearing gives them all back.
            kestrel.DisableStringReuse = true;
        });
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<ChatOptions>>((sockets, chat) =>
            sockets.UnsafePreferInlineScheduling = chat.Value.InlineSends);
        services.AddOptions<FormOptions>().Configure<IOptions<ChatOptions>>((form, chat) =>
        {
            form.ValueLengthLimit = chat.Value.MaxRequestBodyBytes;
            form.MultipartBodyLengthLimit = chat.Value.MaxRequestBodyBytes;
            form.ValueCountLimit = 32;
        });
        return services;
    }

    /// <summary>The Razor Pages: every room but the lobby lives under /rooms/{room}; the lobby keeps its short paths (see RoomPaths).</summary>
    public static IServiceCollection AddSseChatPages(this IServiceCollection services)
    {
        services.AddRazorPages(pages =>
        {
            pages.Conventions.ConfigureFilter(new AntiforgeryFailureFilter());
            pages.Conventions.AddPageRoute("/Index", "rooms/{room}");
            pages.Conventions.AddPageRoute("/History", "rooms/{room}/history");
        });
        return services;
    }
}
