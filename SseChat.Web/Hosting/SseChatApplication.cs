using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;
using SseChat.Web.Streaming;
using StackExchange.Redis;

namespace SseChat.Web.Hosting;

/// <summary>Registers and maps the whole chat, so Program.cs stays two lines (after dotnet/eShop).</summary>
public static class SseChatApplication
{
    public static WebApplicationBuilder AddSseChat(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<ChatOptions>()
            .BindConfiguration(ChatOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<RedisOptions>()
            .BindConfiguration(RedisOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<FragmentRenderer>();
        services.AddSingleton<PresenceFanOuts>();
        services.AddSingleton<RoomHubs>();
        services.AddSseChatPresence();
        services.AddHostedService<HeartbeatService>();
        services.AddSingleton<StreamShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<StreamShutdown>());
        services.AddOptions<HostOptions>().Configure<IOptions<ChatOptions>>((host, chat) => host.ShutdownTimeout = chat.Value.ShutdownTimeout);

        services.AddResiliencePipeline(BusResilience.PublishPipeline, (pipeline, context) =>
            BusResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<RedisOptions>>().Value.BreakDuration));
        services.AddResiliencePipeline(BusResilience.ReadPipeline, BusResilience.ConfigureReads);
        services.AddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        services.AddSingleton<IConnectionMultiplexer>(sp =>
            ConnectionMultiplexer.Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value.ToConfigurationOptions()));
        services.AddSingleton<InProcessChatBus>();
        services.AddSingleton<RedisChatBus>();
        // The mode is chosen from the validated options when the bus is first needed (at start, by the heartbeat).
        services.AddSingleton<IChatBus>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? sp.GetRequiredService<RedisChatBus>()
            : sp.GetRequiredService<InProcessChatBus>());

        // Antiforgery tokens and cookies must validate on every instance: one application name everywhere, and
        // with Redis the key ring lives there instead of in each host's home folder.
        services.AddDataProtection().SetApplicationName("SseChat");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((keyManagement, sp) =>
        {
            var redis = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            if (redis.Enabled)
            {
                var keys = sp.GetRequiredService<RedisKeys>();
                keyManagement.XmlRepository = new RedisXmlRepository(
                    () => sp.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), keys.DataProtectionKeys);
            }
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "ssechat-af";
            o.Cookie.SameSite = SameSiteMode.Lax;
            // The framework's default is never Secure; Secure whenever the browser's request was HTTPS.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ChatOptions>>((kestrel, chat) =>
        {
            kestrel.Limits.MaxRequestBodySize = chat.Value.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
        });
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<ChatOptions>>((sockets, chat) =>
            sockets.UnsafePreferInlineScheduling = chat.Value.InlineSends);
        services.AddOptions<FormOptions>().Configure<IOptions<ChatOptions>>((form, chat) =>
        {
            form.ValueLengthLimit = chat.Value.MaxRequestBodyBytes;
            form.MultipartBodyLengthLimit = chat.Value.MaxRequestBodyBytes;
            form.ValueCountLimit = 32;
        });

        services.AddRazorPages(pages =>
        {
            pages.Conventions.ConfigureFilter(new AntiforgeryFailureFilter());
            // Every room but the lobby lives under /rooms/{room}; the lobby keeps its short paths (see RoomPaths).
            pages.Conventions.AddPageRoute("/Index", "rooms/{room}");
            pages.Conventions.AddPageRoute("/Messages", "rooms/{room}/messages");
            pages.Conventions.AddPageRoute("/History", "rooms/{room}/history");
        });
        services.AddSseChatLimits();
        services.AddSseChatForwardedHeaders();
        builder.AddSseChatTelemetry();
        services.AddSseChatHealthChecks();
        return builder;
    }

    public static WebApplication MapSseChat(this WebApplication app)
    {
        // First: the client's address and scheme as the trusted balancer saw them, for limits and cookie flags.
        app.UseForwardedHeaders();
        app.UseSseChatSecurityHeaders();
        app.UseSseChatInstanceHeader();
        // One handler for every environment: errors are readable and never show a stack trace.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ErrorResponses.StatusFor,
            ExceptionHandler = ErrorResponses.HandleExceptionAsync,
        });
        app.UseStatusCodePages(context => EventsEndpoint.IsStreamPath(context.HttpContext.Request.Path)
            ? Task.CompletedTask
            : ErrorResponses.WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode,
                ErrorResponses.MessageFor(context.HttpContext.Response.StatusCode, context.HttpContext)));
        app.UseRouting();
        app.UseRateLimiter();
        app.Use(GuardRequestBodies);

        app.MapStaticAssets();
        app.MapRazorPages().WithStaticAssets();
        app.MapGet("/events", EventsEndpoint.HandleAsync).RequireRateLimiting(RequestLimits.StreamsPolicy);
        app.MapGet($"/rooms/{{{RoomPaths.RouteParameter}}}/events", EventsEndpoint.HandleAsync).RequireRateLimiting(RequestLimits.StreamsPolicy);
        app.MapSseChatHealthChecks();
        app.MapSseChatTelemetry();

        app.Lifetime.ApplicationStarted.Register(() => LogWhereToOpen(app));
        return app;
    }

    /// <summary>
    /// Reads a posted form before anything else does, so that a body over the limit (announced or chunked) or a
    /// malformed form is answered 413/400 with a readable message. Left to the antiforgery check, a form it cannot
    /// read would be reported as a stale form instead.
    /// </summary>
    private static async Task GuardRequestBodies(HttpContext context, RequestDelegate next)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<ChatOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            await ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                ErrorResponses.MessageFor(StatusCodes.Status413PayloadTooLarge, context)).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
        {
            try
            {
                await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
            {
                await ErrorResponses.WriteAsync(context, ex.StatusCode, ErrorResponses.MessageFor(ex.StatusCode, context)).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Malformed multipart (no or broken boundaries), too many fields, a value over the length limit.
                await ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest,
                    "The form could not be read (too many or malformed fields). Reload the page and try again.").ConfigureAwait(false);
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Builds, maps and runs the app. A malformed setting stops it at once with one line that names the setting
    /// (exit code 2) instead of a stack trace.
    /// </summary>
    public static async Task<int> RunSseChatAsync(this WebApplicationBuilder builder)
    {
        try
        {
            var app = builder.Build();
            app.MapSseChat();
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is OptionsValidationException
            || (ex is InvalidOperationException && ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)))
        {
            await Console.Error.WriteLineAsync($"SseChat cannot start: invalid configuration. {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static void LogWhereToOpen(WebApplication app)
    {
        var redis = app.Services.GetRequiredService<IOptions<RedisOptions>>().Value;
        var mode = redis.Enabled ? $"Redis bus at {redis.ToConfigurationOptions().EndPoints.First()}" : "in-process bus (single instance; set Redis__Configuration to scale out)";
        foreach (var url in app.Urls)
        {
            StartupLog.Running(app.Logger, mode, url);
        }
    }
}

internal static partial class StartupLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "SseChat is running with the {Mode}. Open {Url} in a browser.")]
    public static partial void Running(ILogger logger, string mode, string url);
}
