using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;
using SseChat.Web.Hosting;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// The one way the app runs commands on Redis, shared by the chat bus and the presence store: each command goes
/// through one of the <see cref="RedisResilience"/> pipelines, and a failure that means "Redis is unavailable" (not the
/// caller's cancellation, not a bug) is logged, counted and thrown as <see cref="BusUnavailableException"/>.
/// </summary>
internal sealed class RedisGateway
{
    private readonly ResiliencePipeline _writes;
    private readonly ResiliencePipeline _reads;
    private readonly RedisReplicaWait _replicas;
    private readonly ChatMetrics _metrics;
    private readonly ILogger<RedisGateway> _logger;

    public RedisGateway(
        IConnectionMultiplexer redis, RedisReplicaWait replicas, ResiliencePipelineProvider<string> pipelines, ChatMetrics metrics, ILogger<RedisGateway> logger)
    {
        Connection = redis;
        _replicas = replicas;
        _writes = pipelines.GetPipeline(RedisResilience.Writes);
        _reads = pipelines.GetPipeline(RedisResilience.Reads);
        _metrics = metrics;
        _logger = logger;
    }

    public IConnectionMultiplexer Connection { get; }

    /// <summary>A command that changes something (retried within the bound, refused at once while the breaker is open).</summary>
    public Task<T> WriteAsync<T>(string operation, string room, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken) =>
        RunAsync(_writes, Connection, operation, room, command, cancellationToken);

    /// <summary>
    /// A write that counts only once <c>Redis:AckReplicas</c> replicas have it (see <see cref="RedisReplicaWait"/>):
    /// <paramref name="key"/> names the primary it goes to. The write is retried like any other, on the same server
    /// only: after a failover the new primary does not know a write the old one may have made (nor its client message
    /// id), so a retry there could publish a second copy. The wait for the replicas is not retried (a WAIT on a
    /// connection made since the write would confirm nothing). When they do not confirm it in time the write may still
    /// be in Redis (a resend must be safe) and this throws <see cref="BusUnavailableException"/> like any failure.
    /// </summary>
    public async Task<T> WriteReplicatedAsync<T>(string operation, string room, RedisKey key, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        if (!_replicas.Enabled)
        {
            return await WriteAsync(operation, room, command, cancellationToken).ConfigureAwait(false);
        }

        EndPoint? tried = null; // where an earlier attempt's write went, and may have run
        var (result, write) = await RunAsync(_writes, _replicas.Connection, operation, room, async db =>
        {
            var write = _replicas.Before(key); // the connection this attempt's write goes out on
            if (tried is not null && !Equals(tried, write.Server.EndPoint))
            {
                throw new RedisReplicationException($"The primary changed from {tried} to {write.Server.EndPoint} under a write that may have run: not sent again.");
            }

            tried = write.Server.EndPoint;
            return (await command(db).ConfigureAwait(false), write);
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await _replicas.ConfirmAsync(write).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(operation, room, ex);
        }

        return result;
    }

    /// <summary>A command that only reads (retried within the bound; never refused by the breaker).</summary>
    public Task<T> ReadAsync<T>(string operation, string room, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken) =>
        RunAsync(_reads, Connection, operation, room, command, cancellationToken);

    private async Task<T> RunAsync<T>(
        ResiliencePipeline pipeline, IConnectionMultiplexer connection, string operation, string room, Func<IDatabase, Task<T>> command,
        CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(
                async ct => await command(connection.GetDatabase()).WaitAsync(ct).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(operation, room, ex);
        }
    }

    private BusUnavailableException Unavailable(string operation, string room, Exception ex)
    {
        BusLog.RedisFailed(_logger, operation, room, ex);
        _metrics.BusFailed(operation);
        return new BusUnavailableException($"Redis {operation} for room {room} failed.", ex);
    }

    private static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutRejectedException or BrokenCircuitException or IsolatedCircuitException;
}
