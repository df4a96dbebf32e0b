using System.Diagnostics;
using System.Globalization;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>A process scripts/cluster.sh started and recorded: a line "NAME PID STARTTIME PORT" of its pids file.</summary>
public sealed record RecordedProcess(string Name, int Pid, long StartTime, int Port)
{
    /// <summary>
    /// Still running, and still the process that was started (same start time: a recycled pid belongs to another
    /// program). A zombie has stopped.
    /// </summary>
    public bool IsRunning
    {
        get
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{Pid}/stat");
            }
            catch (IOException)
            {
                return false;
            }

            // Fields 3 (state) and 22 (start time) come after the command name in parentheses, which may hold spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] != "Z" && long.Parse(fields[19], CultureInfo.InvariantCulture) == StartTime;
        }
    }
}

/// <summary>
/// <c>scripts/cluster.sh</c> run from a test: <c>up</c> on free ports in a run folder of its own (so it never meets a
/// developer's cluster in .run/cluster), publishing the build the tests run on, and <c>down</c>. Disposing it runs
/// <c>down</c> if the test did not, and kills, as a last resort, only recorded processes still running.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan DownTimeout = TimeSpan.FromMinutes(1);

    private readonly string _runDir = Directory.CreateTempSubdirectory("ssechat-cluster-").FullName;
    private readonly Dictionary<string, string?> _environment;

    private LocalCluster(int balancerPort, int redisPort, int basePort)
    {
        BalancerAddress = new Uri($"http://127.0.0.1:{balancerPort.ToString(CultureInfo.InvariantCulture)}/");
        _environment = new()
        {
            ["CLUSTER_RUN_DIR"] = _runDir,
            ["CLUSTER_PORT"] = balancerPort.ToString(CultureInfo.InvariantCulture),
            ["CLUSTER_REDIS_PORT"] = redisPort.ToString(CultureInfo.InvariantCulture),
            ["CLUSTER_BASE_PORT"] = basePort.ToString(CultureInfo.InvariantCulture),
            ["CLUSTER_CONFIGURATION"] = WebProjectOutput.Configuration,
            // dotnet test has just built this configuration: publish that build rather than build it again.
            ["CLUSTER_NO_BUILD"] = "1",
            ["CLUSTER_TIMEOUT"] = "90",
        };
        foreach (var (key, value) in TestLimits.Settings)
        {
            _environment[key.Replace(":", "__", StringComparison.Ordinal)] = value; // the instances inherit it
        }
    }

    public Uri BalancerAddress { get; }

    public string PidsFile => Path.Combine(_runDir, "pids");

    /// <summary>What the pids file records now (empty when there is none).</summary>
    public IReadOnlyList<RecordedProcess> Recorded => File.Exists(PidsFile)
        ? File.ReadAllLines(PidsFile)
            .Select(line => line.Split(' '))
            .Select(f => new RecordedProcess(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture)))
            .ToArray()
        : [];

    /// <summary>
    /// Runs <c>scripts/cluster.sh up N</c>, with <paramref name="redis"/> (<c>--redis-cluster</c>, <c>--sentinel</c>)
    /// when given; fails with the script's output when it does. Redis gets a run of free ports (a cluster's with their
    /// bus ports, + 10000, free too).
    /// </summary>
    public static async Task<LocalCluster> UpAsync(int instances, string? redis = null)
    {
        ExternalTool.Require("redis-server", "redis-server");
        ExternalTool.Require("nginx", "nginx");
        var redisPort = redis switch
        {
            null => Ports.FreeLoopbackPort(),
            "--redis-cluster" => Ports.FreeClusterPortRange(6),
            "--sentinel" => Ports.FreeLoopbackPortRange(5),
            _ => throw new ArgumentOutOfRangeException(nameof(redis), redis, "--redis-cluster or --sentinel"),
        };
        var cluster = new LocalCluster(Ports.FreeLoopbackPort(), redisPort, Ports.FreeLoopbackPortRange(instances));
        string[] arguments = ["up", instances.ToString(CultureInfo.InvariantCulture), .. redis is null ? Array.Empty<string>() : [redis]];
        try
        {
            var up = await cluster.RunAsync(UpTimeout, arguments);
            return up.ExitCode == 0 ? cluster : throw new InvalidOperationException($"scripts/cluster.sh {string.Join(' ', arguments)} failed: {up}");
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public Task<ToolResult> DownAsync() => RunAsync(DownTimeout, "down");

    public Task<ToolResult> StatusAsync() => RunAsync(TimeSpan.FromSeconds(30), "status");

    private Task<ToolResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ExternalTool.RunScriptAsync("scripts/cluster.sh", arguments, timeout, _environment);

    public async ValueTask DisposeAsync()
    {
        var recorded = Recorded;
        if (recorded.Count > 0)
        {
            try
            {
                await DownAsync();
            }
            catch (TimeoutException)
            {
                // What down left running is killed below.
            }
        }

        foreach (var process in recorded.Where(p => p.IsRunning))
        {
            using var leftover = Process.GetProcessById(process.Pid);
            leftover.Kill(entireProcessTree: true);
        }

        try
        {
            Directory.Delete(_runDir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
