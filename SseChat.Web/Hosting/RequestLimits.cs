using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;

namespace SseChat.Web.Hosting;

/// <summary>
/// Abuse limits with ASP.NET Core's rate limiter: posting is limited per person (nickname cookie + address, token
/// bucket) and per address; SSE streams are capped per address and per instance (concurrency: a lease is held for
/// the stream's life). Refusals are readable: 429 for posts (an htmx fragment or a page), 503 + Retry-After for
/// streams.
/// </summary>
public static class RequestLimits
{
    /// <summary>The policy on the forms that post (messages, nickname).</summary>
    public const string PostsPolicy = "posts";

    /// <summary>The policy on the SSE streams.</summary>
    public const string StreamsPolicy = "streams";

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
            // Per address, for every post and every stream: several people may share an address, so it is generous.
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => HttpMethods.IsPost(context.Request.Method)
                    ? RateLimitPartition.GetTokenBucketLimiter("post:" + Address(context), _ => Bucket(limits.AddressPostsPerSecond, (int)Math.Ceiling(limits.AddressPostsPerSecond * 5)))
                    : RateLimitPartition.GetNoLimiter("")),
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsStream(context)
                    ? RateLimitPartition.GetConcurrencyLimiter("streams:" + Address(context), _ => Concurrency(limits.StreamsPerAddress))
                    : RateLimitPartition.GetNoLimiter("")));

            options.AddPolicy(PostsPolicy, context =>
                RateLimitPartition.GetTokenBucketLimiter(
                    $"{Address(context)}|{context.Request.Cookies[Nickname.CookieName]}",
                    _ => Bucket(limits.PostsPerSecond, limits.PostBurst)));

            // One limiter for the whole instance (the partition key is constant).
            options.AddPolicy(StreamsPolicy, _ =>
                RateLimitPartition.GetConcurrencyLimiter("instance", _ => Concurrency(limits.StreamsPerInstance)));

            options.OnRejected = OnRejectedAsync;
        });
        return services;
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static bool IsStream(HttpContext context) =>
        HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Value?.EndsWith("/events", StringComparison.Ordinal) == true;

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

    private static ConcurrencyLimiterOptions Concurrency(int permits) => new() { PermitLimit = permits, QueueLimit = 0 };

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds))
            : ErrorResponses.DefaultRetryAfterSeconds;

        if (IsStream(context))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            ErrorResponses.SetRetryAfter(context.Response, StatusCodes.Status503ServiceUnavailable, retryAfter);
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("Too many open streams; try again shortly.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await ErrorResponses.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Slow down: too many messages in a short time. Try again in {retryAfter} s; your text is kept.", retryAfter).ConfigureAwait(false);
    }
}
