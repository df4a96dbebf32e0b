using Microsoft.Extensions.Options;
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
    public TimeSpan BreakDuration { get; set; } = BusResilience.DefaultBreakDuration;

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

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Any(char.IsWhiteSpace))
        {
            return ValidateOptionsResult.Fail("Redis:KeyPrefix must be a non-empty word without spaces.");
        }

        if (options.BreakDuration < TimeSpan.FromMilliseconds(500) || options.BreakDuration > TimeSpan.FromMinutes(1))
        {
            return ValidateOptionsResult.Fail($"Redis:BreakDuration must be between 00:00:00.5 and 00:01:00, not {options.BreakDuration}.");
        }

        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            var parsed = options.ToConfigurationOptions();
            if (parsed.EndPoints.Count == 0)
            {
                return ValidateOptionsResult.Fail(
                    $"Redis:Configuration (env Redis__Configuration) names no endpoint: '{options.Configuration}'. Expected e.g. 'localhost:6379'.");
            }
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(
                $"Redis:Configuration (env Redis__Configuration) is not a valid StackExchange.Redis configuration string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
