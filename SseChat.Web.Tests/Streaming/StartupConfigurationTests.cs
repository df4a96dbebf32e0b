using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>Bad configuration stops the process at start, with a message that names the setting.</summary>
public sealed class StartupConfigurationTests
{
    [Theory]
    [InlineData("Redis__Configuration", "=,,nonsense=1", "Redis:Configuration")]
    [InlineData("Chat__HeartbeatInterval", "not-a-timespan", "Chat:HeartbeatInterval")]
    [InlineData("Chat__HeartbeatInterval", "01:00:00", "Chat:HeartbeatInterval")]
    [InlineData("Chat__StreamQueueCapacity", "0", "Chat:StreamQueueCapacity")]
    [InlineData("Chat__StreamFlushDelay", "00:00:02", "Chat:StreamFlushDelay")]
    [InlineData("Chat__StreamGatherFrom", "0", "Chat:StreamGatherFrom")]
    [InlineData("Chat__InlineSends", "sometimes", "Chat:InlineSends")]
    [InlineData("Redis__KeyPrefix", "has space", "Redis:KeyPrefix")]
    [InlineData("Redis__KeyPrefix", "chat{1}", "Redis:KeyPrefix")]
    [InlineData("Redis__AckReplicas", "17", "Redis:AckReplicas")]
    [InlineData("Redis__AckTimeout", "00:00:05", "Redis:AckTimeout")]
    [InlineData("Limits__PostsPerSecond", "0", "Limits:PostsPerSecond")]
    [InlineData("Limits__StreamsPerAddress", "lots", "Limits:StreamsPerAddress")]
    [InlineData("ForwardedHeaders__KnownProxies__0", "not-an-ip", "ForwardedHeaders:KnownProxies:0")]
    [InlineData("ForwardedHeaders__KnownNetworks__0", "10.0.0.0/99", "ForwardedHeaders:KnownNetworks:0")]
    [InlineData("Chat__ShutdownTimeout", "00:00:00", "Chat:ShutdownTimeout")]
    [InlineData("Chat__PresenceCoalesceWindow", "00:05:00", "Chat:PresenceCoalesceWindow")]
    [InlineData("Chat__PresenceListLimit", "0", "Chat:PresenceListLimit")]
    [InlineData("Instance__Name", "caf\u00e9\u0001", "Instance:Name")]
    [InlineData("Logging__CaptureScopes", "sometimes", "Logging:CaptureScopes")]
    [InlineData("Logging__Console__FormatterOptions__IncludeScopes", "sometimes", "FormatterOptions:IncludeScopes")]
    public async Task A_malformed_setting_stops_the_app_with_a_message_naming_it(string variable, string value, string named)
    {
        var (exitCode, output) = await AppProcess.RunToExitAsync(new Dictionary<string, string?> { [variable] = value }, TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains($"SseChat cannot start: invalid configuration.", output, StringComparison.Ordinal);
        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }
}
