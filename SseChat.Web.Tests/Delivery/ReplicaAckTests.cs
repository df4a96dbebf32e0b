using System.Globalization;
using System.Net;
using SseChat.Web.Bus;
using SseChat.Web.Hosting;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// <c>Redis:AckReplicas=1</c> on a real primary with a real replica: a post is acknowledged only once the replica has
/// it, refused (503 "not confirmed") while no replica can confirm it, and stored once when sent again; concurrent posts
/// share their WAITs.
/// </summary>
public sealed class ReplicaAckTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Redis__AckReplicas"] = "1",
        ["Redis__AckTimeout"] = "00:00:01",
    };

    private readonly RedisServer _primary = new();
    private RedisServer _replica = null!;
    private Instances _instances = null!;

    public async Task InitializeAsync()
    {
        await _primary.StartAsync();
        _replica = new RedisServer { Arguments = ["--replicaof", "127.0.0.1", _primary.Port.ToString(CultureInfo.InvariantCulture)] };
        await _replica.StartAsync();
        await WaitForReplicaAsync();
        _instances = await Instances.StartAsync(1, _primary.Configuration, Settings);
    }

    public async Task DisposeAsync()
    {
        await _instances.DisposeAsync();
        await ((IAsyncDisposable)_replica).DisposeAsync();
        await ((IAsyncDisposable)_primary).DisposeAsync();
    }

    [Fact]
    public async Task A_post_no_replica_confirms_is_refused_and_sent_again_later_it_is_stored_once()
    {
        var app = _instances[0];
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        using (var first = await browser.PostMessageAsync(app.BaseAddress, page, "confirmed", cmid: Cmid()))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        Assert.Equal(1, await LogLengthAsync(_replica)); // acknowledged: the replica has it already

        await _replica.KillAsync();
        await Wait.UntilAsync(async () => await RedisSentinels.ReplicaCountAsync(_primary) == 0, Wait.Default, "the primary to notice its replica is gone");
        var cmid = Cmid();
        using (var refused = await browser.PostMessageAsync(app.BaseAddress, page, "not yet", cmid: cmid))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains(WebUtility.HtmlEncode(ErrorResponses.NotConfirmed), await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await _replica.StartAsync();
        await WaitForReplicaAsync();
        using (var again = await browser.PostMessageAsync(app.BaseAddress, page, "not yet", cmid: cmid))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(2, await LogLengthAsync(_primary)); // "not yet" once: the refused append was kept, the resend found it
        Assert.Equal(2, await LogLengthAsync(_replica));
    }

    [Fact]
    public async Task Posts_made_together_share_their_waits_for_the_replica()
    {
        var app = _instances[0];
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await _primary.CommandAsync("CONFIG RESETSTAT");

        var posts = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => browser.PostMessageAsync(app.BaseAddress, page, $"together {i}", cmid: Cmid())));

        Assert.All(posts, p => Assert.Equal(HttpStatusCode.OK, p.StatusCode));
        foreach (var post in posts)
        {
            post.Dispose();
        }

        var waits = CommandCalls(await _primary.CommandAsync("INFO commandstats"), "wait");
        Assert.InRange(waits, 1, 39); // one WAIT confirms every post whose append came before it
    }

    private static string Cmid() => Guid.NewGuid().ToString("N");

    private async Task<long> LogLengthAsync(RedisServer server) =>
        long.Parse((await server.CommandAsync($"XLEN {new RedisKeys(_instances.KeyPrefix).Log("lobby")}")).TrimStart(':').Trim(), CultureInfo.InvariantCulture);

    private Task WaitForReplicaAsync() =>
        Wait.UntilAsync(async () => await RedisSentinels.ReplicaCountAsync(_primary) == 1
            && (await _replica.CommandAsync("INFO replication")).Contains("master_link_status:up", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the replica to be in sync with the primary");

    /// <summary>How many times a command ran, from INFO commandstats ("cmdstat_wait:calls=3,...").</summary>
    private static long CommandCalls(string commandStats, string command)
    {
        var line = commandStats.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
    }
}
