namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// Delivery and load tests post hundreds of messages a second from one client; the abuse limits meant for people
/// would refuse them. Every app a test starts gets these unless the test sets its own (the limit tests do).
/// </summary>
internal static class TestLimits
{
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["Limits:PostBurst"] = "100000",
        ["Limits:PostsPerSecond"] = "100000",
        ["Limits:AddressPostsPerSecond"] = "100000",
    };
}
