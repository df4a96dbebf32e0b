using System.Globalization;

namespace SseChat.LoadDriver;

/// <summary>CPU time (user + system) and resident memory of one process, as /proc shows them.</summary>
internal readonly record struct ProcessSample(int Pid, long UserTicks, long SystemTicks, long RssKiB)
{
    public long CpuTicks => UserTicks + SystemTicks;

    /// <summary>USER_HZ: the unit of utime/stime in /proc/&lt;pid&gt;/stat; 100 on every Linux architecture .NET runs on.</summary>
    public const int TicksPerSecond = 100;

    public static double TicksToMilliseconds(long ticks) => ticks * 1000.0 / TicksPerSecond;
}

internal static class ProcessStats
{
    /// <exception cref="InvalidOperationException">the process does not exist or /proc cannot be read.</exception>
    public static ProcessSample Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var status = File.ReadAllLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status");
            var (user, system) = ParseCpuTicks(stat);
            return new ProcessSample(pid, user, system, ParseRssKiB(status));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new InvalidOperationException($"Cannot read /proc for process {pid}: {ex.Message}", ex);
        }
    }

    public static ProcessSample[] Read(IReadOnlyList<int> pids)
    {
        var samples = new ProcessSample[pids.Count];
        for (var i = 0; i < pids.Count; i++)
        {
            samples[i] = Read(pids[i]);
        }

        return samples;
    }

    /// <summary>The processes that still run (null for one that has exited, e.g. after a fault); never throws for a missing one.</summary>
    public static ProcessSample?[] TryRead(IReadOnlyList<int> pids)
    {
        var samples = new ProcessSample?[pids.Count];
        for (var i = 0; i < pids.Count; i++)
        {
            samples[i] = IsRunning(pids[i]) ? TryRead(pids[i]) : null;
        }

        return samples;
    }

    /// <summary>True while the process exists and is not a zombie (exited, not yet reaped by its parent).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var end = stat.LastIndexOf(')');
            return end > 0 && end + 2 < stat.Length && stat[end + 2] is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static ProcessSample? TryRead(int pid)
    {
        try
        {
            return Read(pid);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>utime and stime: fields 14 and 15 of /proc/&lt;pid&gt;/stat, counted after the parenthesised command name.</summary>
    public static (long User, long System) ParseCpuTicks(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            throw new FormatException("No command name in /proc/<pid>/stat.");
        }

        // After ") ": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
        var fields = stat[(end + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    /// <summary>VmRSS from /proc/&lt;pid&gt;/status, in KiB (0 for a process without memory, e.g. a zombie).</summary>
    public static long ParseRssKiB(IEnumerable<string> statusLines)
    {
        ArgumentNullException.ThrowIfNull(statusLines);
        foreach (var line in statusLines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var value = line["VmRSS:".Length..].Trim();
                return long.Parse(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
