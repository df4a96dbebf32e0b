using System.Diagnostics;

namespace SseChat.LoadDriver;

/// <summary>What a fault run does to the cluster while it posts.</summary>
internal enum FaultKind
{
    /// <summary>SIGTERM to redis-server, wait until it exited, keep it down, start it again.</summary>
    RedisRestart,

    /// <summary>The same with SIGKILL: no AOF flush, no goodbye.</summary>
    RedisKill,

    /// <summary>SIGSTOP, then SIGCONT: a Redis that hangs instead of dying (connections stay open, nothing answers).</summary>
    RedisPause,

    /// <summary>SIGKILL to one instance, which stays down; its streams reconnect to the others.</summary>
    InstanceKill,

    /// <summary>
    /// SIGKILL to the Redis primary that holds the run's room (a Redis Cluster's shard, or the primary a Sentinel setup
    /// watches): its replica is promoted while it is down; started again, it comes back as a replica.
    /// </summary>
    PrimaryKill,
}

internal static class FaultKinds
{
    private static readonly (FaultKind Kind, string Name)[] Names =
    [
        (FaultKind.RedisRestart, "redis-restart"),
        (FaultKind.RedisKill, "redis-kill"),
        (FaultKind.RedisPause, "redis-pause"),
        (FaultKind.InstanceKill, "instance-kill"),
        (FaultKind.PrimaryKill, "primary-kill"),
    ];

    public static string Name(FaultKind kind) => Names.First(n => n.Kind == kind).Name;

    /// <exception cref="ArgumentException">not one of the names.</exception>
    public static FaultKind Parse(string name)
    {
        foreach (var (kind, known) in Names)
        {
            if (string.Equals(name, known, StringComparison.Ordinal))
            {
                return kind;
            }
        }

        throw new ArgumentException($"--fault takes {string.Join(", ", Names.Select(n => n.Name))}, not '{name}'.");
    }
}

/// <summary>
/// What a fault run acts on. The driver's own <see cref="ProcessFaultTarget"/> signals processes by pid; tests plug
/// in their own, which control the real processes they started (and so can clean them up).
/// </summary>
internal interface IFaultTarget
{
    /// <summary>Stops redis-server (the primary, with replicas) (SIGTERM, or SIGKILL when <paramref name="kill"/>) and returns once it has exited.</summary>
    Task StopRedisAsync(bool kill, CancellationToken cancellationToken);

    /// <summary>Starts redis-server again as it was started before (same port, same data folder); returns its pid when known.</summary>
    Task<int?> StartRedisAsync(CancellationToken cancellationToken);

    Task PauseRedisAsync(CancellationToken cancellationToken);

    Task ResumeRedisAsync(CancellationToken cancellationToken);

    /// <summary>Kills instance <paramref name="index"/> (0-based, in --urls order) with SIGKILL and returns once it has exited.</summary>
    Task KillInstanceAsync(int index, CancellationToken cancellationToken);
}

/// <summary>
/// What happened to the fault: when it began and ended (Stopwatch timestamps; 0 when it never did), the pid Redis got
/// when it was started again, the servers' CPU counters just before it, and why it failed, if it did.
/// </summary>
internal sealed record FaultOutcome(long StartedAt, long EndedAt, int? NewRedisPid, ProcessSample?[] BeforeFault, string? Error);

/// <summary>Performs the run's one fault at its time and always leaves Redis running (started again, resumed) when it ends.</summary>
internal static class FaultRunner
{
    /// <summary>How long putting things back (starting or resuming Redis) may take after a failed or cancelled fault.</summary>
    private static readonly TimeSpan RestoreBound = TimeSpan.FromSeconds(30);

    /// <summary>Waits until <see cref="DriverOptions.FaultAt"/> after <paramref name="postingStart"/>, then causes the fault; never throws.</summary>
    public static async Task<FaultOutcome> RunAsync(DriverOptions options, IFaultTarget target, long postingStart, TextWriter progress, CancellationToken cancellationToken)
    {
        var kind = options.Fault ?? throw new ArgumentException("The run has no fault.", nameof(options));
        var name = FaultKinds.Name(kind);
        long startedAt = 0, endedAt = 0;
        int? newPid = null;
        ProcessSample?[] before = [];
        var redisDown = false;
        var redisPaused = false;
        try
        {
            var wait = options.FaultAt - Stopwatch.GetElapsedTime(postingStart);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            before = ProcessStats.TryRead(options.Pids);
            startedAt = Stopwatch.GetTimestamp();
            switch (kind)
            {
                case FaultKind.RedisRestart or FaultKind.RedisKill or FaultKind.PrimaryKill:
                    redisDown = true;
                    await target.StopRedisAsync(kind != FaultKind.RedisRestart, cancellationToken);
                    progress.WriteLine($"fault {name}: redis-server exited after {Ms(startedAt)} ms; down for {options.FaultFor.TotalSeconds:0.##} s");
                    await Task.Delay(options.FaultFor, cancellationToken);
                    newPid = await target.StartRedisAsync(cancellationToken);
                    redisDown = false;
                    break;
                case FaultKind.RedisPause:
                    redisPaused = true;
                    await target.PauseRedisAsync(cancellationToken);
                    await Task.Delay(options.FaultFor, cancellationToken);
                    await target.ResumeRedisAsync(cancellationToken);
                    redisPaused = false;
                    break;
                case FaultKind.InstanceKill:
                    await target.KillInstanceAsync(options.FaultInstanceIndex, cancellationToken);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(options), kind, "Unknown fault.");
            }

            endedAt = Stopwatch.GetTimestamp();
            progress.WriteLine($"fault {name}: from {Ms(postingStart, startedAt)} to {Ms(postingStart, endedAt)} ms into posting" +
                (newPid is { } pid ? $"; redis-server's new pid {pid}" : ""));
            return new FaultOutcome(startedAt, endedAt, newPid, before, null);
        }
#pragma warning disable CA1031 // a fault that could not be caused is reported (the run is then not a proof), never thrown into the posting
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var error = ex is OperationCanceledException ? "cancelled" : ex.Message;
            progress.WriteLine($"fault {name} failed: {error}");
            newPid = await RestoreAsync(target, redisDown, redisPaused, progress) ?? newPid;
            return new FaultOutcome(startedAt, endedAt, newPid, before, error);
        }
    }

    private static async Task<int?> RestoreAsync(IFaultTarget target, bool redisDown, bool redisPaused, TextWriter progress)
    {
        using var bound = new CancellationTokenSource(RestoreBound);
        try
        {
            if (redisPaused)
            {
                await target.ResumeRedisAsync(bound.Token);
            }

            if (redisDown)
            {
                return await target.StartRedisAsync(bound.Token);
            }
        }
#pragma warning disable CA1031 // the original failure is what the report gives; this one is only logged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            progress.WriteLine($"  and Redis could not be put back: {ex.Message}");
        }

        return null;
    }

    private static long Ms(long since) => (long)Stopwatch.GetElapsedTime(since).TotalMilliseconds;

    private static long Ms(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
