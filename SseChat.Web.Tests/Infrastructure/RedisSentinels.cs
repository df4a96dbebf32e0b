using System.Globalization;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// A real Sentinel setup on loopback: a primary, one replica, and 3 sentinels (<c>redis-server --sentinel</c>, quorum
/// 2) that promote the replica within a few seconds of the primary's death (<c>down-after-milliseconds 1000</c>).
/// </summary>
public sealed class RedisSentinels : IAsyncLifetime, IAsyncDisposable
{
    public const string ServiceName = "ssechat";

    /// <summary>
    /// A primary takes writes only while a replica follows it (as README advises with <c>Redis:AckReplicas</c>): the
    /// killed primary, back before Sentinel demotes it, is a primary of its own and would otherwise take appends that
    /// its demotion then throws away.
    /// </summary>
    private static readonly string[] NoLoneWrites = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"];

    private RedisServer[] _sentinels = [];

    public RedisServer First { get; private set; } = null!;

    public RedisServer Second { get; private set; } = null!;

    /// <summary>A StackExchange.Redis configuration string: the sentinels and the service they watch.</summary>
    public string Configuration => string.Join(',', _sentinels.Select(s => s.Configuration)) + $",serviceName={ServiceName}";

    public async Task InitializeAsync()
    {
        First = new RedisServer { AppendOnly = true, Arguments = [.. NoLoneWrites] };
        await First.StartAsync();
        Second = new RedisServer { AppendOnly = true, Arguments = [.. NoLoneWrites, "--replicaof", "127.0.0.1", First.Port.ToString(CultureInfo.InvariantCulture)] };
        await Second.StartAsync();
        _sentinels = Enumerable.Range(0, 3).Select(_ =>
        {
            // In its own folder (its working directory), where it rewrites the file as it learns the topology.
            var sentinel = new RedisServer { ConfigFile = "sentinel.conf", Arguments = ["--sentinel"] };
            File.WriteAllText(Path.Combine(sentinel.DataDirectory, "sentinel.conf"), string.Join('\n',
                $"sentinel monitor {ServiceName} 127.0.0.1 {First.Port} 2",
                $"sentinel down-after-milliseconds {ServiceName} 1000",
                $"sentinel failover-timeout {ServiceName} 5000",
                $"sentinel parallel-syncs {ServiceName} 1",
                ""));
            return sentinel;
        }).ToArray();
        await Task.WhenAll(_sentinels.Select(s => s.StartAsync()));
        await Wait.UntilAsync(async () => (await PrimaryAsync()) == First && await ReplicaCountAsync(First) == 1 && await SentinelsKnowEachOtherAsync(),
            TimeSpan.FromSeconds(30), "the sentinels to watch the primary and its replica, and to know each other");
    }

    /// <summary>The server the sentinels name as primary now.</summary>
    public async Task<RedisServer?> PrimaryAsync()
    {
        var reply = await _sentinels[0].CommandAsync($"SENTINEL get-master-addr-by-name {ServiceName}");
        var lines = Values(reply);
        var port = lines.Length == 2 && int.TryParse(lines[1], CultureInfo.InvariantCulture, out var p) ? p : 0;
        return new[] { First, Second }.SingleOrDefault(s => s.Port == port);
    }

    /// <summary>
    /// Whether a failover away from <paramref name="old"/> has finished: every sentinel names the same other server, and
    /// that server says it is a primary. (One sentinel may name the replica while the failover is still under way, and a
    /// failover can still be abandoned then.)
    /// </summary>
    public async Task<bool> FailedOverFromAsync(RedisServer old)
    {
        var named = await Task.WhenAll(_sentinels.Select(async s => Values(await s.CommandAsync($"SENTINEL get-master-addr-by-name {ServiceName}"))));
        var ports = named.Select(lines => lines.Length == 2 ? lines[1] : null).Distinct().ToArray();
        var promoted = new[] { First, Second }.SingleOrDefault(s => ports.Length == 1 && ports[0] == s.Port.ToString(CultureInfo.InvariantCulture));
        return promoted is not null && promoted != old
            && (await promoted.CommandAsync("INFO replication")).Contains("role:master", StringComparison.Ordinal);
    }

    /// <summary>How many replicas <paramref name="server"/> has connected, as it says itself.</summary>
    public static async Task<int> ReplicaCountAsync(RedisServer server)
    {
        var line = (await server.CommandAsync("INFO replication")).Split('\n', StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => l.StartsWith("connected_slaves:", StringComparison.Ordinal));
        return line is null ? 0 : int.Parse(line["connected_slaves:".Length..], CultureInfo.InvariantCulture);
    }

    private async Task<bool> SentinelsKnowEachOtherAsync()
    {
        foreach (var sentinel in _sentinels)
        {
            var lines = Values(await sentinel.CommandAsync($"SENTINEL master {ServiceName}"));
            var i = Array.IndexOf(lines, "num-other-sentinels");
            if (i < 0 || lines[i + 1] != "2")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The values of a raw RESP reply of bulk strings (the lines that are not headers).</summary>
    private static string[] Values(string reply) =>
        reply.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(l => l[0] is not ('$' or '*')).ToArray();

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public async Task DisposeAsync()
    {
        foreach (var server in _sentinels.Append(Second).Append(First))
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }
}
