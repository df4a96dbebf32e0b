using System.Diagnostics;
using System.Globalization;
using SseChat.LoadDriver;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// The driver's own fault target against a real redis-server it knows only by pid, as with run-local.sh: stop it and
/// start it again with the given command in its old working directory (a relative --dir finds the same AOF), pause
/// and resume it, kill a process.
/// </summary>
public sealed class ProcessFaultTargetTests
{
    [Fact]
    public async Task Redis_is_restarted_in_its_old_folder_paused_resumed_and_killed_by_pid()
    {
        var redis = new RedisServer { AppendOnly = true };
        int? restarted = null;
        try
        {
            await redis.StartAsync();
            var port = redis.Port.ToString(CultureInfo.InvariantCulture);
            var target = new ProcessFaultTarget([], redis.ProcessId, $"redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly yes --dir .");
            Assert.Contains("+OK", await redis.CommandAsync("SET fault-key kept"), StringComparison.Ordinal);
            var first = redis.ProcessId;

            await target.StopRedisAsync(kill: false, CancellationToken.None);
            Assert.False(ProcessStats.IsRunning(first));
            restarted = await target.StartRedisAsync(CancellationToken.None);
            var second = Assert.NotNull(restarted);
            Assert.NotEqual(first, second);
            await WaitForPongAsync(redis);
            Assert.Contains("kept", await redis.CommandAsync("GET fault-key"), StringComparison.Ordinal);

            await target.PauseRedisAsync(CancellationToken.None);
            await Assert.ThrowsAnyAsync<TimeoutException>(() => redis.CommandAsync("PING").WaitAsync(TimeSpan.FromMilliseconds(500)));
            await target.ResumeRedisAsync(CancellationToken.None);
            await WaitForPongAsync(redis);

            await target.StopRedisAsync(kill: true, CancellationToken.None);
            Assert.False(ProcessStats.IsRunning(second));
            restarted = null;
        }
        finally
        {
            if (restarted is { } pid && ProcessStats.IsRunning(pid))
            {
                Signals.Send(pid, Signals.Kill);
            }

            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_instance_is_killed_by_its_pid_and_waited_for()
    {
        using var victim = Process.Start("sleep", "60")!;
        var target = new ProcessFaultTarget([Environment.ProcessId, victim.Id], 1, null);

        await target.KillInstanceAsync(1, CancellationToken.None);

        Assert.False(ProcessStats.IsRunning(victim.Id));
        await Assert.ThrowsAsync<InvalidOperationException>(() => target.StartRedisAsync(CancellationToken.None));
    }

    private static Task WaitForPongAsync(RedisServer redis) =>
        Wait.UntilAsync(async () => (await redis.CommandAsync("PING")).StartsWith("+PONG", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "redis-server to answer PING");
}
