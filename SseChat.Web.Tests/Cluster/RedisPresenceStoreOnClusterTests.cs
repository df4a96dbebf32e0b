using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// The same on a Redis Cluster of 3 shards, where the room and the rooms index live on different shards: no script may
/// touch both.
/// </summary>
[Collection(RedisClusterGroup.Name)]
public sealed class RedisPresenceStoreOnClusterTests(RedisCluster cluster) : RedisPresenceStoreCases(cluster.Configuration)
{
    [Fact]
    public void The_room_and_the_rooms_index_are_on_different_shards() =>
        Assert.NotEqual(Redis.GetServer(Keys.PresenceHolds(Room)).EndPoint, Redis.GetServer(Keys.RoomCounts).EndPoint);
}
