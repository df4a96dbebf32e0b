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

    /// <summary>
    /// How many replicas must have a message before its post is acknowledged (<c>Redis:AckReplicas</c>, default 0: the
    /// primary's word is enough). Above 0, each append is followed by <c>WAIT</c>; a message not confirmed within
    /// <see cref="AckTimeout"/> is answered 503 "not confirmed, send again", so a failover that promotes a replica loses
    /// nothing that was acknowledged.
    /// </summary>
    public int AckReplicas { get; set; }

    /// <summary>How long a post waits for <see cref="AckReplicas"/> replicas (<c>Redis:AckTimeout</c>, default 0.5 s).</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);

    /// <summary>
    /// A connection made with <see cref="ToConfigurationOptions"/>, the one way the app connects (the bus's and the acks'
    /// connections); under Sentinel it first makes room in the thread pool (<see cref="SentinelThreads"/>).
    /// </summary>
    public ConnectionMultiplexer Connect(string clientName = "ssechat")
    {
        var options = ToConfigurationOptions(clientName);
        SentinelThreads.Reserve(options);
        return ConnectionMultiplexer.Connect(options);
    }

    /// <summary>Parses <see cref="Configuration"/> with the settings this app relies on.</summary>
    public ConfigurationOptions ToConfigurationOptions(string clientName = "ssechat")
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
            options.ClientName = clientName;
        }

        return options;
    }
}
