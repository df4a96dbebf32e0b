namespace SseChat.LoadDriver;

/// <summary>The console entry point (a named class: the test project also sees the web app's global Program).</summary>
internal static class DriverProgram
{
    /// <summary>Read by System.Net.Sockets once, when its first socket is made: set before that.</summary>
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static async Task<int> Main(string[] args)
    {
        // The driver's socket continuations run on the thread that polled them instead of a thread-pool hop each:
        // 15-20 % less of the driver's CPU at 3 x 300 x 100 msg/s, which the servers it measures get instead. Its
        // continuations only parse and count. An explicit setting (e.g. 0) is kept.
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }

        DriverOptions options;
        try
        {
            if (args.Contains("--help") || args.Contains("-h"))
            {
                Console.WriteLine(DriverOptions.Usage);
                return 0;
            }

            options = DriverOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"{ex.Message}\n\n{DriverOptions.Usage}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        LoadReport report;
        try
        {
            report = await LoadRun.RunAsync(options, Console.Error, cancel.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TimeoutException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"The load run could not go on: {ex.Message}");
            return 2;
        }

        await Console.Out.WriteAsync(report.ToTable());
        await Console.Out.WriteLineAsync(report.ToJson());
        return report.Ok ? 0 : 1;
    }
}
