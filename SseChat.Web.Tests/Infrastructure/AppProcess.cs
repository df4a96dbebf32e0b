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

    private AppProcess(Process process, string home, int port)
    {
        _process = process;
        _home = home;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>The app's own process (dotnet runs the app in the process it starts), e.g. for /proc figures.</summary>
    public int ProcessId => _process.Id;

    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts an instance and waits until it answers HTTP.</summary>
    public static async Task<AppProcess> StartAsync(IDictionary<string, string?> settings, int? port = null)
    {
        var app = Launch(settings, port ?? Ports.FreeLoopbackPort());
        try
        {
            using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            await Wait.UntilAsync(async () =>
            {
                if (app.HasExited)
                {
                    throw new InvalidOperationException($"SseChat exited with code {app.ExitCode}:\n{app.Output}");
                }

                using var response = await http.GetAsync("/");
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(30), $"SseChat on port {app.Port} to serve its page");
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
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var app = new AppProcess(process, home, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) app._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) app._output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return app;
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
    public static string Dll { get; } = Find();

    private static string Find()
    {
        // Tests run from SseChat.Web.Tests/bin/{Configuration}/{tfm}/.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SseChat.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"SseChat.sln not found above {AppContext.BaseDirectory}.");
        }

        var dll = Path.Combine(root.FullName, "SseChat.Web", "bin", configuration, tfm, "SseChat.Web.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"Build SseChat.Web first: {dll} is missing.");
    }
}
