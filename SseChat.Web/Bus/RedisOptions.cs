using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>Bound from the "Redis" section. No <see cref="Configuration"/> means the in-process bus.</summary>
public sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. "localhost:6379" (env <c>Redis__Configuration</c>).</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and channel this app uses, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "ssechat";

    /// <summary>
    /// After half of at least 10 Redis operations within 5 s failed, posts and presence changes are refused at once
    /// (503) for this long before one of them tries Redis again (<c>Redis:BreakDuration</c>, default 1 s).
    /// </summary>
    public TimeSpan BreakDuration { get; set; } = RedisResilience.DefaultBreakDuration;

    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);

    /// <summary>Parses <see cref="Configuration"/> with the settings this app relies on.</summary>
    public ConfigurationOptions ToConfigurationOptions()
    {
        var options = ConfigurationOptions.Parse(Configuration!);
        // Start even while Redis is down; the bus reports it per request (503) and /readyz says not ready.
        options.AbortOnConnectFail = false;
        // Fail commands at once while disconnected rather than holding them in a backlog and sending them
        // later: a POST must get a definite answer, and the resilience pipeline retries within its bound.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Try to reconnect every half second rather than backing off for up to a minute: the outage the users see
        // is as long as Redis is away plus this.
        options.ReconnectRetryPolicy = new LinearRetry(500);
        if (string.IsNullOrEmpty(options.ClientName))
        {
            options.ClientName = "ssechat";
        }

        return options;
    }
}
