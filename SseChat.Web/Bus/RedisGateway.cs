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
    private readonly ChatMetrics _metrics;
    private readonly ILogger<RedisGateway> _logger;

    public RedisGateway(IConnectionMultiplexer redis, ResiliencePipelineProvider<string> pipelines, ChatMetrics metrics, ILogger<RedisGateway> logger)
    {
        Connection = redis;
        _writes = pipelines.GetPipeline(RedisResilience.Writes);
        _reads = pipelines.GetPipeline(RedisResilience.Reads);
        _metrics = metrics;
        _logger = logger;
    }

    public IConnectionMultiplexer Connection { get; }

    /// <summary>A command that changes something (retried within the bound, refused at once while the breaker is open).</summary>
    public Task<T> WriteAsync<T>(string operation, string room, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken) =>
        RunAsync(_writes, operation, room, command, cancellationToken);

    /// <summary>A command that only reads (retried within the bound; never refused by the breaker).</summary>
    public Task<T> ReadAsync<T>(string operation, string room, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken) =>
        RunAsync(_reads, operation, room, command, cancellationToken);

    private async Task<T> RunAsync<T>(
        ResiliencePipeline pipeline, string operation, string room, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(
                async ct => await command(Connection.GetDatabase()).WaitAsync(ct).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            BusLog.RedisFailed(_logger, operation, room, ex);
            _metrics.BusFailed(operation);
            throw new BusUnavailableException($"Redis {operation} for room {room} failed.", ex);
        }
    }

    private static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutRejectedException or BrokenCircuitException or IsolatedCircuitException;
}
