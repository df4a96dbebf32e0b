using System.Diagnostics;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>The repository's load-tests folder.</summary>
internal static class LoadTestFiles
{
    public static string Folder { get; } = Repository.PathOf("load-tests");

    public static string PathOf(string relative) => Path.Combine(Folder, relative);
}

/// <summary>Runs node (installed by scripts/test.sh when missing) with a bounded wait.</summary>
internal static class Node
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start (is it installed? scripts/test.sh installs it).");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {string.Join(' ', start.ArgumentList)} did not finish within 20 s.");
        }

        return (process.ExitCode, await output, await error);
    }
}
