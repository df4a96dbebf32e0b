using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>The presence store's scripts on one redis-server.</summary>
[Collection(RedisServerGroup.Name)]
public sealed class RedisPresenceStoreTests(RedisServer redis) : RedisPresenceStoreCases(redis.Configuration);
