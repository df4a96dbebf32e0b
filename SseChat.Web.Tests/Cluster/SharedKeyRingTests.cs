using System.Net;
using SseChat.Web.Tests.Infrastructure;
using StackExchange.Redis;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// Instances that start together on an empty key ring (a fresh Redis, a compose file brought up) must accept each
/// other's forms from the first post: they share one first Data Protection key rather than each making its own.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed class SharedKeyRingTests(RedisServer redis)
{
    [Fact]
    public async Task Instances_started_together_make_one_first_key_and_take_each_others_forms_at_once()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        // Five rounds of three: without the lock, 3 of 5 pairs started at once made two keys.
        for (var round = 0; round < 5; round++)
        {
            await using var instances = await Instances.StartAsync(3, redis.Configuration);

            var keys = await connection.GetDatabase().ListLengthAsync($"{instances.KeyPrefix}:dataprotection-keys");
            Assert.True(keys == 1, $"round {round}: {keys} Data Protection keys in the ring");
            for (var from = 0; from < instances.Count; from++)
            {
                using var browser = new ChatBrowser();
                var page = await browser.GetPageAsync(instances[from].BaseAddress);
                var to = (from + 1) % instances.Count;
                using var response = await browser.PostMessageAsync(instances[to].BaseAddress, page, $"round {round}: {from} to {to}");
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"round {round}: a form from {from} posted to {to} answered {(int)response.StatusCode}");
            }
        }
    }
}
