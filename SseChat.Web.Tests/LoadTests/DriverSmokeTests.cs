using SseChat.LoadDriver;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// The load driver, in-process, against two real SseChat processes on a real redis-server: a small run in CI that
/// proves the whole path (token from one page per instance, streams on both, posts round-robin) loses and
/// duplicates nothing, and that the report's figures are filled in.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed class DriverSmokeTests(RedisServer redis) : IAsyncLifetime
{
    private Instances? _instances;

    public async Task InitializeAsync() => _instances = await Instances.StartAsync(2, redis.Configuration);

    public async Task DisposeAsync()
    {
        if (_instances is not null)
        {
            await _instances.DisposeAsync();
        }
    }

    [Fact]
    public async Task Twenty_streams_on_two_instances_get_every_message_once()
    {
        var (a, b) = (_instances![0], _instances[1]);
        var options = new DriverOptions
        {
            Urls = [a.BaseAddress, b.BaseAddress],
            Clients = 20,
            Rate = 50,
            Seconds = 3,
            Pids = [a.ProcessId, b.ProcessId, redis.ProcessId],
            OpenTimeout = TimeSpan.FromSeconds(20),
            SettleTimeout = TimeSpan.FromSeconds(10),
            Drain = TimeSpan.FromSeconds(10),
        };
        var progress = new StringWriter();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var report = await LoadRun.RunAsync(options, progress, bound.Token);

        var context = $"{report.ToTable()}\n{progress}\n--- A\n{a.Output}\n--- B\n{b.Output}";
        Assert.True(report.Expected > 0, context);
        Assert.True(report.Lost == 0, context);
        Assert.True(report.Duplicates == 0, context);
        Assert.True(report.Ok, context);
        Assert.Equal(20, report.StreamsOpen);
        Assert.Equal(150, report.PostsAccepted);
        Assert.Equal(150 * 20, report.Expected);
        Assert.Equal(report.Expected, report.Delivered);
        Assert.NotNull(report.LatencyP99Ms);
        Assert.Equal(3, report.Processes.Count);
        Assert.True(report.ServerCpuMs > 0, context);
        Assert.True(report.Processes.All(p => p.RssBeforeKiB > 0 && p.RssOpenKiB > 0), context);
        LoadReports.AssertRoundTrips(report);
    }
}
