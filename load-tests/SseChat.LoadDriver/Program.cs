namespace SseChat.LoadDriver;

/// <summary>The console entry point (a named class: the test project also sees the web app's global Program).</summary>
internal static class DriverProgram
{
    public static async Task<int> Main(string[] args)
    {
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
