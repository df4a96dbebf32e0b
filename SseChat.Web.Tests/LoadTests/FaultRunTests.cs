using SseChat.LoadDriver;
using SseChat.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// The load driver's fault benchmark in CI: three real SseChat processes on a real redis-server of their own, the
/// driver in-process, one short fault while it posts. The promise under test: every acknowledged (2xx) message
/// reaches every stream exactly once, on every instance, and every stream is open at the end; refused posts are fine.
/// </summary>
public sealed class FaultRunTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_redis_restart_mid_run_loses_no_acknowledged_message_on_any_instance()
    {
        var redis = new RedisServer { AppendOnly = true };
        try
        {
            await redis.StartAsync();
            await using var instances = await Instances.StartAsync(3, redis.Configuration, new(FaultRuns.Settings));

            var (report, context) = await FaultRuns.RunAsync(output, instances, redis.ProcessId, new TestClusterFaults(redis, instances), FaultKind.RedisRestart,
                clients: 75, seconds: 6);

            var fault = report.Fault!;
            Assert.True(fault.Error is null, context);
            Assert.True(fault.StartMs >= 1900 && fault.EndMs >= fault.StartMs + 1000, context);
            Assert.True(fault.NewRedisPid is > 0, context);
            Assert.True(report.PostsAccepted > 0, context);
            Assert.True(report.PostsFailed > 0, context); // the fault did happen: Redis refused some posts
            Assert.True(fault.LostByInstance.Values.All(lost => lost == 0), context);
            Assert.True(report.Duplicates == 0, context);
            Assert.True(fault.StreamsOpenAtEnd == fault.StreamsCounted && fault.StreamsCounted == 75, context);
            Assert.True(fault.RecoverMs is not null, context);
            Assert.True(report.Ok, context);
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_instance_killed_mid_run_has_its_streams_resume_on_the_others_without_loss()
    {
        var redis = new RedisServer();
        try
        {
            await redis.StartAsync();
            await using var instances = await Instances.StartAsync(3, redis.Configuration, new(FaultRuns.Settings));

            var (report, context) = await FaultRuns.RunAsync(output, instances, redis.ProcessId, new TestClusterFaults(redis, instances), FaultKind.InstanceKill,
                clients: 60, seconds: 5);

            var fault = report.Fault!;
            Assert.True(fault.Error is null && instances[2].HasExited, context);
            Assert.True(fault.Reconnects >= 20, context); // at least every stream of the killed instance came back
            Assert.True(report.PostErrors.ContainsKey("connection refused"), context); // posts to the dead instance
            Assert.True(report.Lost == 0 && report.Duplicates == 0 && fault.Resets == 0, context);
            Assert.True(fault.StreamsOpenAtEnd == 60, context);
            Assert.True(report.Ok, context);
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    /// <summary>
    /// Faults through the tests' own handles on the real processes (so they are cleaned up whatever happens): Redis
    /// is stopped with SHUTDOWN (its AOF flushed) and started again on the same port and folder.
    /// </summary>
    private sealed class TestClusterFaults(RedisServer redis, Instances instances) : IFaultTarget
    {
        public async Task StopRedisAsync(bool kill, CancellationToken cancellationToken)
        {
            if (!kill)
            {
                await redis.StopAsync();
                return;
            }

            var pid = redis.ProcessId;
            Signals.Send(pid, Signals.Kill);
            await Wait.UntilAsync(() => Task.FromResult(!ProcessStats.IsRunning(pid)), TimeSpan.FromSeconds(10), "redis-server to die");
        }

        public async Task<int?> StartRedisAsync(CancellationToken cancellationToken)
        {
            await redis.StartAsync();
            return redis.ProcessId;
        }

        public Task PauseRedisAsync(CancellationToken cancellationToken)
        {
            Signals.Send(redis.ProcessId, Signals.Stop);
            return Task.CompletedTask;
        }

        public Task ResumeRedisAsync(CancellationToken cancellationToken)
        {
            Signals.Send(redis.ProcessId, Signals.Continue);
            return Task.CompletedTask;
        }

        public Task KillInstanceAsync(int index, CancellationToken cancellationToken) => instances[index].KillAsync();
    }
}
