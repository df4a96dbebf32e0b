using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Fewer replicas than <c>Redis:AckReplicas</c> confirmed a write in time: it may not survive a failover. A Redis
/// failure like any other for the gateway (logged, counted, a 503), but not a transient one: it is neither retried nor
/// counted by the circuit breaker.
/// </summary>
public sealed class RedisReplicationException(string message) : RedisException(message);
