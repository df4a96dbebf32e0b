using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Hosting;

/// <summary>
/// Abuse limits with ASP.NET Core's rate limiter: posting is limited per person (nickname cookie + address, token
/// bucket) and per address; refusals are readable 429s (an htmx fragment or a page). SSE streams are capped per
/// address and per instance by <see cref="StreamLimits"/>, which the stream endpoint consults itself.
/// </summary>
public static class RequestLimits
{
    /// <summary>The policy on the forms that post (messages, nickname).</summary>
    public const string PostsPolicy = "posts";

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

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<LimitsOptions>>((options, limitsOptions) =>
        {
            var limits = limitsOptions.Value;
            // Per address, for every post: several people may share an address, so it is generous.
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => HttpMethods.IsPost(context.Request.Method)
                ? RateLimitPartition.GetTokenBucketLimiter("post:" + Address(context), _ => Bucket(limits.AddressPostsPerSecond, (int)Math.Ceiling(limits.AddressPostsPerSecond * 5)))
                : RateLimitPartition.GetNoLimiter(""));

            options.AddPolicy(PostsPolicy, context =>
                RateLimitPartition.GetTokenBucketLimiter(
                    $"{Address(context)}|{context.Request.Cookies[Nickname.CookieName]}",
                    _ => Bucket(limits.PostsPerSecond, limits.PostBurst)));

            options.OnRejected = OnRejectedAsync;
        });
        services.AddSingleton<StreamLimits>();
        return services;
    }

    // The connection feature (where the forwarded-headers middleware puts the client's address), not HttpContext.Connection:
    // that wrapper, once made, is kept by the request, and a stream's request lives as long as the stream.
    internal static string Address(HttpContext context) =>
        context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress?.ToString() ?? "unknown";

    private static TokenBucketRateLimiterOptions Bucket(double perSecond, int burst)
    {
        // Refill in steps of at least one token, as often as the rate allows, but at least once a second.
        var period = TimeSpan.FromSeconds(Math.Min(1, 1 / perSecond));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = Math.Max(1, (int)Math.Round(perSecond * period.TotalSeconds)),
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds))
            : ErrorResponses.DefaultRetryAfterSeconds;

        await ErrorResponses.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Slow down: too many messages in a short time. Try again in {retryAfter} s; your text is kept.", retryAfter).ConfigureAwait(false);
    }
}
