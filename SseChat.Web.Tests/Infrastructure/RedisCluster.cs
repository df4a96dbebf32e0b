using System.Globalization;
using StackExchange.Redis;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: 3 primaries with a replica each (6 redis-server processes with
/// <c>--cluster-enabled yes</c>, each in its own temp folder), made with <c>redis-cli --cluster create
/// --cluster-replicas 1</c>. Each node also listens on its port + 10000 (the cluster bus), so the ports are chosen with
/// that one free too. <c>cluster-node-timeout 2000</c> makes a failover take a few seconds, and
/// <c>cluster-require-full-coverage no</c> keeps the other shards serving meanwhile, as scripts/cluster.sh runs it.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime, IAsyncDisposable
{
    public const int Primaries = 3;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private RedisServer[] _nodes = [];

    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>A StackExchange.Redis configuration string naming every node (it would find the others from one).</summary>
    public string Configuration => string.Join(',', _nodes.Select(n => n.Configuration));

    public async Task InitializeAsync()
    {
        var cli = ExternalTool.Require("redis-cli", "redis-tools");
        var first = Ports.FreeClusterPortRange(Primaries * 2);
        _nodes = Enumerable.Range(first, Primaries * 2).Select(port => new RedisServer
        {
            Port = port,
            AppendOnly = true,
            Arguments =
            [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                // The other shards go on serving while one fails over (the default stops the whole cluster).
                "--cluster-require-full-coverage", "no",
                // A primary takes writes only while its replica follows it (README): a promoted replica refuses posts
                // until the old primary is back as its replica, rather than storing and showing posts it cannot confirm.
                "--min-replicas-to-write", "1", "--min-replicas-max-lag", "10",
            ],
        }).ToArray();
        await Task.WhenAll(_nodes.Select(n => n.StartAsync()));
        var create = await ExternalTool.RunAsync(cli,
            ["--cluster", "create", .. _nodes.Select(n => n.Configuration), "--cluster-replicas", "1", "--cluster-yes"], TimeSpan.FromSeconds(60));
        if (create.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed: {create}");
        }

        await WaitUntilSettledAsync();
    }

    /// <summary>Waits until every running node says the cluster is ok and sees <see cref="Primaries"/> primaries, each with a replica.</summary>
    public Task WaitUntilSettledAsync() =>
        Wait.UntilAsync(async () =>
        {
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                if (!(await node.CommandAsync("CLUSTER INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }

                var roles = (await NodesAsync(node)).Where(n => !n.Failed).ToArray();
                if (roles.Count(n => n.Primary && n.Slots > 0) != Primaries || roles.Count(n => !n.Primary) != Primaries)
                {
                    return false;
                }

                // The primaries run with min-replicas-to-write 1: until its replica's link is up, a primary refuses
                // every write with NOREPLICAS, and the first tests to run met that.
                var replication = await node.CommandAsync("INFO replication");
                if (replication.Contains("role:master", StringComparison.Ordinal)
                    && !replication.Contains("state=online", StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }, Settle, "the Redis Cluster to settle (cluster_state:ok, every primary with a replica online)");

    /// <summary>The node that serves <paramref name="key"/>'s slot now, as the first running node sees it.</summary>
    public async Task<RedisServer> PrimaryOfAsync(string key)
    {
        var any = _nodes.First(n => n.IsRunning);
        var slot = int.Parse((await any.CommandAsync($"CLUSTER KEYSLOT {key}")).TrimStart(':').Trim(), CultureInfo.InvariantCulture);
        var owner = (await NodesAsync(any)).Single(n => n.Primary && !n.Failed && n.Owns(slot));
        return _nodes.Single(n => n.Port == owner.Port);
    }

    /// <summary>
    /// Moves the slot of <paramref name="key"/> from its primary to <paramref name="to"/> as <c>redis-cli --cluster
    /// reshard</c> does, for one slot: IMPORTING on the target, MIGRATING on the source, MIGRATE its keys in batches
    /// (clients meanwhile get ASK, or TRYAGAIN for a command whose keys are split), then the slot's new owner to every
    /// primary. Returns the number of keys moved.
    /// </summary>
    /// <param name="batch">keys per MIGRATE: small batches keep a room's keys split between the two for longer.</param>
    public async Task<int> MigrateSlotAsync(string key, RedisServer to, int batch = 100)
    {
        var from = await PrimaryOfAsync(key);
        var any = _nodes.First(n => n.IsRunning);
        var slot = int.Parse((await any.CommandAsync($"CLUSTER KEYSLOT {key}")).TrimStart(':').Trim(), CultureInfo.InvariantCulture);
        var nodes = await NodesAsync(any);
        var fromId = nodes.Single(n => n.Port == from.Port).Id;
        var toId = nodes.Single(n => n.Port == to.Port).Id;
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{any.Configuration},allowAdmin=true");
        var source = admin.GetServer("127.0.0.1", from.Port);
        var target = admin.GetServer("127.0.0.1", to.Port);

        await target.ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
        await source.ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
        var moved = 0;
        while (true)
        {
            var keys = (RedisResult[])(await source.ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slot, batch))!;
            if (keys.Length == 0)
            {
                break;
            }

            await source.ExecuteAsync("MIGRATE", ["127.0.0.1", to.Port, "", 0, 5000, "KEYS", .. keys.Select(k => (object)(string)k!)]);
            moved += keys.Length;
        }

        foreach (var primary in nodes.Where(n => n.Primary && n.Slots > 0 && !n.Failed))
        {
            await admin.GetServer("127.0.0.1", primary.Port).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", toId);
        }

        return moved;
    }

    /// <summary>The cluster's nodes as <paramref name="node"/> sees them (<c>CLUSTER NODES</c>).</summary>
    public static async Task<IReadOnlyList<ClusterNode>> NodesAsync(RedisServer node)
    {
        var reply = await node.CommandAsync("CLUSTER NODES");
        return reply.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith('$'))
            .Select(ClusterNode.Parse)
            .ToArray();
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
