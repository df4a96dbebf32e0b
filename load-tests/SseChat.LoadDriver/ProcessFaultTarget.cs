using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SseChat.LoadDriver;

/// <summary>
/// The driver's fault target: processes named by pid (as --pids gives them: the instances in --urls order, then
/// redis-server), signalled with kill(2). Starting Redis again runs <see cref="DriverOptions.RedisStart"/> with
/// <c>/bin/sh -c 'exec …'</c> in the working directory the old process had (read from <c>/proc/PID/cwd</c> before it
/// was stopped), detached from the driver's output; the started process is the new redis-server.
/// </summary>
internal sealed class ProcessFaultTarget : IFaultTarget
{
    /// <summary>How long a signalled process may take to exit (Redis flushes its AOF on SIGTERM).</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(30);

    private readonly int[] _instancePids;
    private readonly string? _redisStart;
    private int _redisPid;
    private string? _redisDirectory;

    public ProcessFaultTarget(IReadOnlyList<int> instancePids, int redisPid, string? redisStart)
    {
        ArgumentNullException.ThrowIfNull(instancePids);
        _instancePids = [.. instancePids];
        _redisPid = redisPid;
        _redisStart = redisStart;
    }

    /// <summary>The target for a run's --pids: one per URL, then redis-server's.</summary>
    public static ProcessFaultTarget For(DriverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ProcessFaultTarget([.. options.Pids.Take(options.Urls.Count)], options.Pids[^1], options.RedisStart);
    }

    public async Task StopRedisAsync(bool kill, CancellationToken cancellationToken)
    {
        // Read before it is gone: where to start it again.
        _redisDirectory = Directory.ResolveLinkTarget($"/proc/{Pid(_redisPid)}/cwd", returnFinalTarget: false)?.FullName
            ?? throw new InvalidOperationException($"Cannot read the working directory of redis-server (pid {_redisPid}).");
        Signals.Send(_redisPid, kill ? Signals.Kill : Signals.Term);
        await WaitForExitAsync(_redisPid, cancellationToken);
    }

    public Task<int?> StartRedisAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_redisStart))
        {
            throw new InvalidOperationException("No command to start Redis again (--redis-start).");
        }

        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = _redisDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {_redisStart} </dev/null >/dev/null 2>&1");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run '{_redisStart}'.");
        _redisPid = process.Id;
        return Task.FromResult<int?>(_redisPid);
    }

    public Task PauseRedisAsync(CancellationToken cancellationToken)
    {
        Signals.Send(_redisPid, Signals.Stop);
        return Task.CompletedTask;
    }

    public Task ResumeRedisAsync(CancellationToken cancellationToken)
    {
        Signals.Send(_redisPid, Signals.Continue);
        return Task.CompletedTask;
    }

    public async Task KillInstanceAsync(int index, CancellationToken cancellationToken)
    {
        var pid = _instancePids[index];
        Signals.Send(pid, Signals.Kill);
        await WaitForExitAsync(pid, cancellationToken);
    }

    /// <summary>Polls /proc: the process need not be the driver's child, so there is nothing to wait on.</summary>
    private static async Task WaitForExitAsync(int pid, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (ProcessStats.IsRunning(pid))
        {
            if (Stopwatch.GetElapsedTime(start) > ExitBound)
            {
                throw new TimeoutException($"Process {pid} did not exit within {ExitBound.TotalSeconds:0} s of the signal.");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    private static string Pid(int pid) => pid.ToString(CultureInfo.InvariantCulture);
}

/// <summary>kill(2): .NET itself can only send SIGKILL.</summary>
internal static class Signals
{
    public const int Kill = 9;
    public const int Term = 15;
    public const int Continue = 18;
    public const int Stop = 19;

    /// <exception cref="InvalidOperationException">the signal could not be sent (no such process, not allowed).</exception>
    public static void Send(int pid, int signal)
    {
        if (pid <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pid), pid, "Not a process id.");
        }

        if (NativeMethods.Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    // DllImport, not LibraryImport: that would need unsafe code for one call with two ints, which need no marshalling.
    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int signal);
    }
}
