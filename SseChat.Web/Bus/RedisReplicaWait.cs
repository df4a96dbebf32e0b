using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Makes a write count only once <c>Redis:AckReplicas</c> replicas have it (<c>WAIT numreplicas timeout</c>), so a
/// failover that promotes a replica cannot take an acknowledged message with it. WAIT confirms the writes made before
/// it on the same connection, and blocks that connection while it waits: so the writes that need it go through a
/// connection of their own (<see cref="Connection"/>, not the one reads, presence and pub/sub use), and one WAIT at a
/// time per server confirms every write that completed before it was sent. Writes that complete while a WAIT is out
/// share the next one, so a burst of posts costs a few WAITs, not one each.
/// </summary>
internal sealed class RedisReplicaWait : IAsyncDisposable
{
    /// <summary>How long past its own timeout a WAIT may take to come back before the write counts as not confirmed.</summary>
    private static readonly TimeSpan AnswerSlack = TimeSpan.FromSeconds(1);

    private readonly RedisOptions _options;
    private readonly ConnectionMultiplexer? _connection;
    private readonly ConcurrentDictionary<EndPoint, Coalescer> _servers = new();

    public RedisReplicaWait(IOptions<RedisOptions> options)
    {
        _options = options.Value;
        if (Enabled)
        {
            // Made with the rest of the bus, never on a request (a connect blocks a thread).
            _connection = _options.Connect("ssechat-acks");
        }
    }

    /// <summary>Writes wait for replicas (<c>Redis:AckReplicas</c> above 0).</summary>
    public bool Enabled => _options.Enabled && _options.AckReplicas > 0;

    /// <summary>The connection for writes that must be confirmed: the one WAIT then runs on.</summary>
    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("Redis:AckReplicas is 0: no write waits for replicas.");

    /// <summary>Notes, just before a write to <paramref name="key"/>, the server and the socket it goes out on.</summary>
    /// <exception cref="RedisConnectionException">no server for the key is connected (a failover under way).</exception>
    public Write Before(RedisKey key)
    {
        IServer server;
        try
        {
            server = Connection.GetServer(key);
        }
        catch (InvalidOperationException ex)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToResolvePhysicalConnection, CommandFlags.None, ex.Message, ex, CommandStatus.Unknown);
        }

        return new Write(server, server.GetCounters().Interactive.SocketCount);
    }

    /// <summary>Returns once <c>Redis:AckReplicas</c> replicas of the write's server have it.</summary>
    /// <exception cref="RedisReplicationException">
    /// fewer replicas had it within <c>Redis:AckTimeout</c>, or the connection was made again since the write (a WAIT
    /// there would say nothing about it).
    /// </exception>
    /// <exception cref="RedisException">the WAIT itself failed (the connection went away).</exception>
    public async Task ConfirmAsync(Write write)
    {
        var coalescer = _servers.GetOrAdd(write.Server.EndPoint, static (_, self) => new Coalescer(self), this);
        long replicas;
        try
        {
            // The WAIT ends by itself after the timeout; a connection that died under it may not answer at all.
            replicas = await coalescer.WaitAsync(write.Server).WaitAsync(_options.AckTimeout + AnswerSlack).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RedisReplicationException($"{write.Server.EndPoint} did not answer WAIT within {(_options.AckTimeout + AnswerSlack).TotalMilliseconds:0} ms.");
        }

        if (write.Server.GetCounters().Interactive.SocketCount != write.Socket)
        {
            throw new RedisReplicationException($"The connection to {write.Server.EndPoint} was made again since the write: it is not confirmed.");
        }

        if (replicas < _options.AckReplicas)
        {
            throw new RedisReplicationException(
                $"Only {replicas} of {_options.AckReplicas} replicas of {write.Server.EndPoint} confirmed the write within {_options.AckTimeout.TotalMilliseconds:0} ms.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<long> WaitOnceAsync(IServer server) =>
        (long)await server.ExecuteAsync("WAIT", _options.AckReplicas, (long)_options.AckTimeout.TotalMilliseconds).ConfigureAwait(false);

    /// <summary>A write made on <see cref="Connection"/>: its server, and which of its sockets (counted since start) carried it.</summary>
    public readonly record struct Write(IServer Server, long Socket);

    /// <summary>One server's WAITs: at most one out at a time; callers that come meanwhile share the next.</summary>
    private sealed class Coalescer(RedisReplicaWait owner)
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource<long>? _next;
        private bool _running;

        public Task<long> WaitAsync(IServer server)
        {
            lock (_gate)
            {
                _next ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                var task = _next.Task;
                if (!_running)
                {
                    _running = true;
                    _ = RunAsync(server);
                }

                return task;
            }
        }

        private async Task RunAsync(IServer server)
        {
            while (true)
            {
                TaskCompletionSource<long>? round;
                lock (_gate)
                {
                    round = _next;
                    _next = null;
                    if (round is null)
                    {
                        _running = false;
                        return;
                    }
                }

                try
                {
                    // Sent after the write of every caller of this round had completed: it covers them all.
                    round.SetResult(await owner.WaitOnceAsync(server).ConfigureAwait(false));
                }
#pragma warning disable CA1031 // handed to every caller of this round, who rethrows it
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    round.SetException(ex);
                }
            }
        }
    }
}
