using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, in its own temp folder, started for a test run and stopped after.
/// scripts/test.sh installs redis-server when it is missing; a machine without it fails these tests loudly.
/// </summary>
public sealed class RedisServer : IAsyncLifetime, IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ssechat-redis-").FullName;
    private Process? _process;

    /// <summary>Keep an AOF in the temp folder, so the data survives <see cref="StopAsync"/> and a new start.</summary>
    public bool AppendOnly { get; init; }

    public int Port { get; init; } = Ports.FreeLoopbackPort();

    /// <summary>More redis-server arguments (e.g. <c>--cluster-enabled yes</c>, <c>--replicaof</c>), after the harness's own.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>A configuration file to start from (a sentinel needs one it can rewrite), given before every argument.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Its temp folder (working directory and --dir).</summary>
    public string DataDirectory => _dir;

    /// <summary>The redis-server process, e.g. for /proc figures.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("redis-server is not started.");

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>A Redis:KeyPrefix of its own, so that tests sharing one server keep their rooms and keys apart.</summary>
    public static string NewKeyPrefix() => "t" + Guid.NewGuid().ToString("N")[..10];

    public Task InitializeAsync() => StartAsync();

    /// <summary>Starts redis-server (again, after <see cref="StopAsync"/>: same port, same folder) and waits for PING.</summary>
    public async Task StartAsync()
    {
        var exe = FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not installed. Run scripts/test.sh (it installs it with apt) or `apt-get install redis-server`.");
        var start = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        if (ConfigFile is not null)
        {
            start.ArgumentList.Add(ConfigFile);
        }

        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", AppendOnly ? "yes" : "no", "--dir", _dir, "--daemonize", "no",
        }.Concat(Arguments))
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Wait.UntilAsync(PingAsync, TimeSpan.FromSeconds(15), $"redis-server on port {Port} to answer PING");
        // Another program may have taken the port between its choice and this start (another test run or harness on the
        // machine): the server that answers must be ours, or the test would stop, pause or reconfigure someone else's.
        var info = await CommandAsync("INFO server");
        var owner = info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("process_id:", StringComparison.Ordinal));
        if (owner != $"process_id:{_process.Id}")
        {
            throw new InvalidOperationException($"Port {Port} is answered by another redis-server ({owner}), not by pid {_process.Id}.");
        }
    }

    /// <summary>Stops the server the way an operator would (SHUTDOWN: the AOF is flushed) and waits until it has exited.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", Port);
            await client.GetStream().WriteAsync("SHUTDOWN\r\n"u8.ToArray());
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>Kills the server at once (SIGKILL: no AOF flush, no goodbye, as when its host dies) and waits until it has gone.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        _process.Kill();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
    }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Sends one command (inline form) and returns the raw reply; for tests that look inside Redis.</summary>
    public async Task<string> CommandAsync(string inline)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(inline + "\r\n"));
        var buffer = new byte[64 * 1024];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    /// <summary>For a test that owns its server (<c>await using</c>) rather than sharing the collection's.</summary>
    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    private async Task<bool> PingAsync()
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    internal static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/usr/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

[CollectionDefinition(Name)]
public sealed class RedisServerGroup : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
