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
    public async Task Charts_read_both_drivers_json_and_show_each_system_median()
    {
        var file = Path.Combine(_temp, "side.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            // SseChat's driver, then the peers' driver.js (as run.sh writes it), twice each at one shape.
            """{"label":"ssechat","clients":300,"targetRate":100,"latencyP99Ms":20,"serverCpuUsPerDelivery":15,"lost":0,"processes":[{},{},{},{}]}""",
            """{"label":"ssechat","clients":300,"targetRate":100,"latencyP99Ms":30,"serverCpuUsPerDelivery":17,"lost":0,"processes":[{},{},{},{}]}""",
            """{"mode":"socketio","peer":"seed-socketio","clients":300,"rate":100,"latency_ms":{"p99":40},"server_cpu_us_per_delivery":18,"redis_cpu_us_per_delivery":1,"lost":0}""",
            """{"mode":"socketio","peer":"seed-socketio","clients":300,"rate":100,"latency_ms":{"p99":60},"server_cpu_us_per_delivery":19,"redis_cpu_us_per_delivery":1,"lost":0}""",
            """{"label":"ssechat","clients":5000,"targetRate":0,"rssPerStreamKiB":30.5,"lost":0,"processes":[{},{}]}""",
        ]);
        var charts = Path.Combine(_temp, "charts");

        var result = await ExternalTool.RunAsync("node", ["load-tests/tools/charts.js", charts, file], TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        var p99 = await File.ReadAllTextAsync(Path.Combine(charts, "p99-by-shape.svg"));
        Assert.Contains(">300 × 100<", p99, StringComparison.Ordinal);
        Assert.Contains(">ssechat<", p99, StringComparison.Ordinal);
        Assert.Contains(">seed-socketio<", p99, StringComparison.Ordinal);
        Assert.Contains(">25.0<", p99, StringComparison.Ordinal); // SseChat's median p99
        Assert.Contains(">50.0<", p99, StringComparison.Ordinal); // the seed's
        Assert.Contains(">19.5<", await File.ReadAllTextAsync(Path.Combine(charts, "cpu-by-shape.svg")), StringComparison.Ordinal); // 18.5 + 1 (Redis)
        Assert.Contains(">30.5<", await File.ReadAllTextAsync(Path.Combine(charts, "memory-per-stream.svg")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_drivers_lines_merge_into_one_with_every_delivery_made_and_the_worse_latency()
    {
        // Each of two drivers counts its own messages at its own clients: half of what every client receives.
        var a = Path.Combine(_temp, "driver-0.json");
        var b = Path.Combine(_temp, "driver-1.json");
        await File.WriteAllTextAsync(a, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4));
        await File.WriteAllTextAsync(b, DriverLine(delivered: 990, lost: 10, deliveriesPerSecond: 99, p99: 70, driverCpu: 40, serverUs: 6));

        var result = await ExternalTool.RunAsync("node", ["load-tests/peers-driver/merge-drivers.js", a, b], TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        using var merged = System.Text.Json.JsonDocument.Parse(result.Output);
        var root = merged.RootElement;
        Assert.Equal(1990, root.GetProperty("delivered").GetDouble());
        Assert.Equal(10, root.GetProperty("lost").GetDouble());
        Assert.Equal(398, root.GetProperty("deliveries_per_s").GetDouble()); // (100 + 99) counted, twice that made
        Assert.Equal(70, root.GetProperty("latency_ms").GetProperty("p99").GetDouble());
        Assert.Equal(70, root.GetProperty("driver").GetProperty("cpu_pct").GetDouble());
        // the servers' CPU of one window over the deliveries made in it: (4 x 1000 + 6 x 990) / 2 / 3980
        Assert.Equal(1.249, root.GetProperty("server_cpu_us_per_delivery").GetDouble());
        Assert.Equal(2, root.GetProperty("per_driver").GetArrayLength());
        Assert.False(root.GetProperty("driver_limited").GetBoolean());
    }

    [Fact]
    public async Task A_run_whose_driver_fell_behind_is_marked_driver_limited_with_the_reasons()
    {
        // Driver 0 reports its own limit (its warm-up did not drain); its measured window began 12 s after driver 1's.
        var a = Path.Combine(_temp, "driver-0.json");
        var b = Path.Combine(_temp, "driver-1.json");
        await File.WriteAllTextAsync(a, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 14_000, driverCpu: 90, serverUs: 4, windowStartMs: 1_700_000_012_000, limits: "\"warm-up: 633 of 900 delivered\""));
        await File.WriteAllTextAsync(b, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 600, driverCpu: 60, serverUs: 4, windowStartMs: 1_700_000_000_000));

        var result = await ExternalTool.RunAsync("node", ["load-tests/peers-driver/merge-drivers.js", a, b], TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        using var merged = System.Text.Json.JsonDocument.Parse(result.Output);
        var root = merged.RootElement;
        Assert.True(root.GetProperty("driver_limited").GetBoolean());
        Assert.Equal(
            ["driver 0: warm-up: 633 of 900 delivered", "measured windows began 12 s apart"],
            root.GetProperty("driver_limits").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Refused_posts_and_the_loss_of_acknowledged_ones_are_summed_and_an_older_drivers_lines_have_neither()
    {
        // Driver 0's window had 3 posts refused (their 150 clients' deliveries count in "lost"), driver 1's 1, and 7
        // deliveries of an acknowledged message never came.
        var a = Path.Combine(_temp, "driver-0.json");
        var b = Path.Combine(_temp, "driver-1.json");
        await File.WriteAllTextAsync(a, DriverLine(delivered: 1000, lost: 450, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4, extra: "\"failed_msgs\":3,\"lost_of_acknowledged\":0,"));
        await File.WriteAllTextAsync(b, DriverLine(delivered: 1000, lost: 157, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4, extra: "\"failed_msgs\":1,\"lost_of_acknowledged\":7,"));

        var result = await ExternalTool.RunAsync("node", ["load-tests/peers-driver/merge-drivers.js", a, b], TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        using (var merged = System.Text.Json.JsonDocument.Parse(result.Output))
        {
            Assert.Equal(4, merged.RootElement.GetProperty("failed_msgs").GetDouble());
            Assert.Equal(7, merged.RootElement.GetProperty("lost_of_acknowledged").GetDouble());
            Assert.Equal(607, merged.RootElement.GetProperty("lost").GetDouble());
        }

        await File.WriteAllTextAsync(a, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4));
        await File.WriteAllTextAsync(b, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4));
        var older = await ExternalTool.RunAsync("node", ["load-tests/peers-driver/merge-drivers.js", a, b], TimeSpan.FromSeconds(20));

        Assert.True(older.ExitCode == 0, older.ToString());
        using var olderMerged = System.Text.Json.JsonDocument.Parse(older.Output);
        Assert.False(olderMerged.RootElement.TryGetProperty("lost_of_acknowledged", out _), "no zero for what an older driver did not count");
    }

    [Fact]
    public async Task A_failed_driver_fails_the_merge_with_its_error()
    {
        var a = Path.Combine(_temp, "driver-0.json");
        var b = Path.Combine(_temp, "driver-1.json");
        await File.WriteAllTextAsync(a, DriverLine(delivered: 1000, lost: 0, deliveriesPerSecond: 100, p99: 40, driverCpu: 30, serverUs: 4));
        await File.WriteAllTextAsync(b, """{"mode":"sse","error":"events: HTTP 503"}""");

        var result = await ExternalTool.RunAsync("node", ["load-tests/peers-driver/merge-drivers.js", a, b], TimeSpan.FromSeconds(20));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("events: HTTP 503", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_known_command_it_says_how_to_use_it()
    {
        var result = await ExternalTool.RunAsync("node", ["load-tests/tools/report.js", "nonsense"], TimeSpan.FromSeconds(20));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage:", result.Error, StringComparison.Ordinal);
    }

    private static string DriverLine(long delivered, long lost, double deliveriesPerSecond, double p99, double driverCpu, double serverUs, long windowStartMs = 1_700_000_000_000, string limits = "", string extra = "") =>
        $$$"""{{{{extra}}}"window_start_ms":{{{windowStartMs}}},"driver_limits":[{{{limits}}}],"driver_limited":{{{(limits.Length > 0 ? "true" : "false")}}},"mode":"sse","clients":150,"rate":500,"messages":10,"expected":{{{delivered + lost}}},"delivered":{{{delivered}}},"lost":{{{lost}}},"duplicates":0,"unexpected":0,"send_errors":0,"post_retries":0,"disconnects":0,"deliveries_per_s":{{{deliveriesPerSecond}}},"send_rate_achieved":500,"latency_ms":{"p50":1,"p95":2,"p99":{{{p99}}},"max":{{{p99}}},"mean":1},"send_lag_ms":{"p99":1,"max":1},"drain_s":0.1,"driver":{"cpu_pct":{{{driverCpu}}},"cpu_us_per_delivery":2,"event_loop_delay_ms":{"p99":5,"max":6},"rss_kib":1000},"machine_cpu_busy_pct":90,"machine_busy_cores":1.8,"server_cpu_pct":50,"server_cpu_us_per_delivery":{{{serverUs}}},"redis_cpu_pct":5,"redis_cpu_us_per_delivery":0.1}""";

    private static string Run(long accepted, long refused, long lost, bool ok, double recoverMs, long reconnects) =>
        $$$"""{"runId":"r","postsAccepted":{{{accepted}}},"postsFailed":{{{refused}}},"lost":{{{lost}}},"duplicates":0,"ok":{{{(ok ? "true" : "false")}}},"fault":{"kind":"redis-restart","forSeconds":3,"reconnects":{{{reconnects}}},"recoverMs":{{{recoverMs}}}}}""";
}
