using Microsoft.Extensions.Options;

namespace SseChat.Web.Bus;

/// <summary>Checks the "Redis" section at start: a bad setting stops the app with a message that names it.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    private const int MaxAckReplicas = 16;

    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        // A brace would make the prefix, not the room, the hash tag of every key: all rooms in one cluster slot.
        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Any(c => char.IsWhiteSpace(c) || c is '{' or '}'))
        {
            return ValidateOptionsResult.Fail("Redis:KeyPrefix must be a non-empty word without spaces or braces.");
        }

        if (options.BreakDuration < TimeSpan.FromMilliseconds(500) || options.BreakDuration > TimeSpan.FromMinutes(1))
        {
            return ValidateOptionsResult.Fail($"Redis:BreakDuration must be between 00:00:00.5 and 00:01:00, not {options.BreakDuration}.");
        }

        if (options.AckReplicas < 0 || options.AckReplicas > MaxAckReplicas)
        {
            return ValidateOptionsResult.Fail($"Redis:AckReplicas must be between 0 and {MaxAckReplicas}, not {options.AckReplicas}.");
        }

        if (options.AckTimeout < TimeSpan.FromMilliseconds(10) || options.AckTimeout > TimeSpan.FromSeconds(2))
        {
            return ValidateOptionsResult.Fail($"Redis:AckTimeout must be between 00:00:00.01 and 00:00:02, not {options.AckTimeout}.");
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
