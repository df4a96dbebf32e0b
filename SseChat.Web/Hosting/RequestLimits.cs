using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>
/// Abuse limits: Kestrel's header limits; posting limited per address and per person by <see cref="PostLimits"/>
/// (refusals are readable 429s, an htmx fragment or a page); SSE streams capped per address and per instance by
/// <see cref="StreamLimits"/>, which the stream endpoint consults itself.
/// </summary>
public static class RequestLimits
{
    public static IServiceCollection AddSseChatLimits(this IServiceCollection services)
    {
        services.BindSection<LimitsOptions>(LimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, limits) =>
        {
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.Value.MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestHeaderCount = limits.Value.MaxRequestHeaderCount;
        });

        services.AddSingleton<PostLimits>();
        services.AddSingleton<StreamLimits>();
        return services;
    }

    // The connection feature (where the forwarded-headers middleware puts the client's address), not HttpContext.Connection:
    // that wrapper, once made, is kept by the request, and a stream's request lives as long as the stream.
    internal static string Address(HttpContext context) =>
        context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>
    /// The post limits (<see cref="PostLimits"/>): after routing, so the endpoint's metadata says whether the person's
    /// bucket counts too. Refusals are 429 with <c>Retry-After</c>, an htmx fragment or a page.
    /// </summary>
    public static WebApplication UseSseChatPostLimits(this WebApplication app)
    {
        var limits = app.Services.GetRequiredService<PostLimits>();
        app.Use((context, next) =>
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                return next(context);
            }

            var perPerson = context.GetEndpoint()?.Metadata.GetMetadata<LimitPostsPerPersonAttribute>() is not null;
            return limits.TryTake(context, perPerson, out var wait) ? next(context) : RefuseAsync(context, wait);
        });
        return app;
    }

    private static Task RefuseAsync(HttpContext context, TimeSpan wait)
    {
        var retryAfter = (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds));
        return ErrorResponses.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Slow down: too many messages in a short time. Try again in {retryAfter.ToString(CultureInfo.InvariantCulture)} s; your text is kept.",
            retryAfter);
    }
}
