using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// A real SseChat process (Kestrel on a loopback port), started from the web project's build output. Each gets
/// its own HOME, as a separate host would, so nothing (e.g. a Data Protection key ring) is shared by accident.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _home;
    private readonly ConcurrentQueue<string> _output = new();

    private AppProcess(Process process, string home, int port, string name)
    {
        _process = process;
        _home = home;
        Port = port;
        Name = name;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>The instance's name (<c>Instance:Name</c>), unique unless the test gave one: how a start knows it reached this process.</summary>
    public string Name { get; }

    /// <summary>The app's own process (dotnet runs the app in the process it starts), e.g. for /proc figures.</summary>
    public int ProcessId => _process.Id;

    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Kills the instance at once (SIGKILL: no shutdown, no goodbye, as when a host dies) and waits until it has gone.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.Kill(entireProcessTree: true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>Starts an instance and waits until it answers HTTP (200 on <paramref name="readyPath"/>).</summary>
    public static async Task<AppProcess> StartAsync(IDictionary<string, string?> settings, int? port = null, string readyPath = "/")
    {
        // A port found free can be taken before the instance binds it: with none asked for, another is tried.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(settings, port ?? Ports.FreeLoopbackPort(), readyPath);
            }
            catch (InvalidOperationException e) when (port is null && attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    private static async Task<AppProcess> StartOnceAsync(IDictionary<string, string?> settings, int port, string readyPath)
    {
        var app = Launch(settings, port);
        try
        {
            using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            await Wait.UntilAsync(async () =>
            {
                if (app.HasExited)
                {
                    return true; // no use waiting: said below
                }

                using var response = await http.GetAsync(readyPath);
                // Ours, not a server of another test run that took the port: it answers with the name it was given.
                return response.IsSuccessStatusCode && response.Instance() == app.Name;
            }, TimeSpan.FromSeconds(30), $"SseChat on port {app.Port} to serve its page as {app.Name}");
            if (app.HasExited)
            {
                using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await app._process.WaitForExitAsync(drained.Token); // and for the last of its output
                throw new InvalidOperationException($"SseChat exited with code {app.ExitCode}:\n{app.Output}");
            }

            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs an instance expected to stop by itself (e.g. on bad configuration) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IDictionary<string, string?> settings, TimeSpan timeout)
    {
        await using var app = Launch(settings, Ports.FreeLoopbackPort());
        using var cts = new CancellationTokenSource(timeout);
        await app._process.WaitForExitAsync(cts.Token);
        return (app._process.ExitCode, app.Output);
    }

    private static AppProcess Launch(IDictionary<string, string?> settings, int port)
    {
        var home = Directory.CreateTempSubdirectory("ssechat-home-").FullName;
        var dll = WebProjectOutput.Dll;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        start.Environment["HOME"] = home;
        start.Environment["DOTNET_CLI_HOME"] = home;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__SseChat"] = "Information";
        start.Environment.Remove("Redis__Configuration");
        foreach (var (key, value) in TestLimits.Settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["Instance__Name"] = "test-" + Guid.NewGuid().ToString("N")[..12];
        foreach (var (key, value) in settings)
        {
            if (value is null)
            {
                start.Environment.Remove(key); // not set at all, whatever this process has
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var app = new AppProcess(process, home, port, start.Environment["Instance__Name"]!);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) app._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) app._output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return app;
    }

    /// <summary>Sends SIGTERM (as an orchestrator stopping it would) and returns the exit code; fails after the timeout.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        await ExternalTool.SendSigtermAsync(_process.Id);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Finds SseChat.Web's build output next to this test assembly's (same configuration).</summary>
internal static class WebProjectOutput
{
    // Tests run from SseChat.Web.Tests/bin/{Configuration}/{tfm}/.
    private static readonly DirectoryInfo TestBin = new(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));

    /// <summary>The build configuration the tests (and so SseChat.Web) were built in.</summary>
    public static string Configuration => TestBin.Parent!.Name;

    public static string Dll { get; } = Find();

    private static string Find()
    {
        var dll = Repository.PathOf("SseChat.Web", "bin", Configuration, TestBin.Name, "SseChat.Web.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"Build SseChat.Web first: {dll} is missing.");
    }
}
