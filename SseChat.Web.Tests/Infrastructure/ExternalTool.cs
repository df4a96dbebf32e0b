using System.Diagnostics;
using System.Globalization;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>What a finished command printed and returned.</summary>
public sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"exit code {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}");
}

/// <summary>Runs the machine's tools (nginx, docker-compose, node, the repository's scripts), bounded by a timeout.</summary>
internal static class ExternalTool
{
    /// <summary>The path of an installed tool, or a failure that says how to get it.</summary>
    public static string Require(string name, string aptPackage) =>
        RedisServer.FindOnPath(name)
        ?? throw new InvalidOperationException($"{name} is not installed. Run scripts/test.sh (it installs it with apt) or `apt-get install {aptPackage}`.");

    /// <summary>Runs <paramref name="file"/> in <paramref name="workingDirectory"/> (by default the repository root) and waits for it to end, or fails after the timeout.</summary>
    public static async Task<ToolResult> RunAsync(
        string file,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        IDictionary<string, string?>? environment = null,
        string? input = null,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory ?? Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        using var cts = new CancellationTokenSource(timeout);
        var output = process.StandardOutput.ReadToEndAsync(cts.Token);
        var error = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), cts.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);
            return new ToolResult(process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s.");
        }
    }

    /// <summary>Sends SIGTERM to a process, as an orchestrator stopping it would (with the machine's kill, bounded).</summary>
    public static async Task SendSigtermAsync(int pid)
    {
        var kill = await RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)], Wait.Default);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {pid} failed: {kill}");
        }
    }

    /// <summary>Runs a bash script of the repository, e.g. <c>scripts/cluster.sh</c>.</summary>
    public static Task<ToolResult> RunScriptAsync(string script, IEnumerable<string> arguments, TimeSpan timeout, IDictionary<string, string?>? environment = null) =>
        RunAsync("bash", arguments.Prepend(Repository.PathOf(script)), timeout, environment);
}
