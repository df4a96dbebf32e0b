namespace SseChat.Web.Tests.Infrastructure;

/// <summary>The test classes that share one <see cref="RedisCluster"/> (its six nodes start once).</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterGroup : ICollectionFixture<RedisCluster>
{
    public const string Name = "redis-cluster";
}
