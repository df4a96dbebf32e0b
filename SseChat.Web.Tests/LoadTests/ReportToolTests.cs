using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>load-tests/tools/report.js turns the driver's JSON lines into the tables of BENCHMARKS.md.</summary>
public sealed class ReportToolTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("ssechat-report-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task The_fault_table_has_one_row_per_fault_with_medians_ranges_and_every_loss_counted()
    {
        var lines = new[]
        {
            Run(accepted: 1000, refused: 150, lost: 0, ok: true, recoverMs: 400, reconnects: 0),
            Run(accepted: 1100, refused: 170, lost: 0, ok: true, recoverMs: 600, reconnects: 0),
            Run(accepted: 1050, refused: 160, lost: 7, ok: false, recoverMs: 500, reconnects: 2),
            """{"runId":"plain","lost":0,"fault":null}""",
        };
        var file = Path.Combine(_temp, "runs.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        var result = await ExternalTool.RunAsync("node", ["load-tests/tools/report.js", "faults", file], TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length); // header, separator, one fault
        Assert.Equal(
            "| Redis restart, down 3 s | 3 (1 failed) | 1,050 (1,000–1,100) | 160 (150–170) | 7 in 3 runs | 0 | 0 (0–2) | 500 (400–600) |",
            rows[2]);
    }

    [Fact]
    public async Task Without_a_known_command_it_says_how_to_use_it()
    {
        var result = await ExternalTool.RunAsync("node", ["load-tests/tools/report.js", "nonsense"], TimeSpan.FromSeconds(20));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage:", result.Error, StringComparison.Ordinal);
    }

    private static string Run(long accepted, long refused, long lost, bool ok, double recoverMs, long reconnects) =>
        $$$"""{"runId":"r","postsAccepted":{{{accepted}}},"postsFailed":{{{refused}}},"lost":{{{lost}}},"duplicates":0,"ok":{{{(ok ? "true" : "false")}}},"fault":{"kind":"redis-restart","forSeconds":3,"reconnects":{{{reconnects}}},"recoverMs":{{{recoverMs}}}}}""";
}
