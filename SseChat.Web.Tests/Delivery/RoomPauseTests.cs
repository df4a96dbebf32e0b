using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// A room whose readers fall behind together pauses on every instance, not only where they were cut: two instances on
/// one real redis-server, the slow readers on one, the posts to the other.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed class RoomPauseTests(RedisServer redis)
{
    [Fact]
    public async Task Once_several_readers_on_one_instance_are_cut_posts_to_the_room_on_another_are_refused_until_they_can_resume_losing_nothing()
    {
        var prefix = RedisServer.NewKeyPrefix();
        Dictionary<string, string?> Settings() => new()
        {
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:KeyPrefix"] = prefix,
            ["Chat:StreamQueueCapacity"] = "16",
            ["Chat:ReconnectDelay"] = "00:00:00.500",
            ["Chat:MaxDeliveryLag"] = "00:00:01",
        };
        var cuts = new SlowClientTests.CutWatch(2001, cuts: 2);
        using var slow = SlowClientTests.SmallBuffers(Settings(), services => services.AddSingleton<ILoggerProvider>(cuts));
        using var other = new ChatAppFactory(Settings());
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(other.BaseAddress);
        await using var reader = await SseClient.ConnectAsync(browser.Client(other.BaseAddress));
        await reader.WaitForAsync(e => e.EventType == "ping", "reader open");
        using var first = await SlowClientTests.StalledStream.OpenAsync(slow.BaseAddress);
        using var second = await SlowClientTests.StalledStream.OpenAsync(slow.BaseAddress);

        // Posts go to the other instance, where no stream falls behind: only the pause shared through Redis refuses them.
        var accepted = await SlowClientTests.PostUntilBusyThenAgainAsync(browser, other.BaseAddress, page, reader, cuts);

        await SlowClientTests.ResumesWithoutLossAsync(first.Response, browser, slow.BaseAddress, accepted);
        await SlowClientTests.ResumesWithoutLossAsync(second.Response, browser, other.BaseAddress, accepted);
    }
}
