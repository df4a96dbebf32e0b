using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SseChat.LoadDriver;

/// <summary>Resource use of one server process over the run: CPU time in user and kernel mode, RSS before and with the streams open.</summary>
internal sealed record ProcessReport(int Pid, double CpuMs, double SystemCpuMs, long RssBeforeKiB, long RssOpenKiB);

/// <summary>The outcome of one run: what was sent, what arrived, how fast, and what it cost the servers.</summary>
internal sealed record LoadReport
{
    public required string RunId { get; init; }
    public required IReadOnlyList<string> Urls { get; init; }
    public required int Clients { get; init; }
    /// <summary>Streams that delivered their first event before posting started; each is expected to get every message.</summary>
    public required int StreamsOpen { get; init; }
    /// <summary>Streams that never delivered a first event.</summary>
    public required int StreamsFailed { get; init; }
    /// <summary>Streams that opened and then ended before the run stopped them (while opening, posting or draining).</summary>
    public required int StreamsDropped { get; init; }
    public required IReadOnlyList<string> StreamErrors { get; init; }

    public required double TargetRate { get; init; }
    public required double Seconds { get; init; }
    public required int PayloadBytes { get; init; }
    public required int MessagesScheduled { get; init; }
    public required long PostsAccepted { get; init; }
    public required long PostsFailed { get; init; }
    public required IReadOnlyDictionary<string, int> PostErrors { get; init; }
    public required double AchievedRate { get; init; }
    public double? PostP50Ms { get; init; }
    public double? PostP99Ms { get; init; }

    /// <summary>Accepted messages × open streams.</summary>
    public required long Expected { get; init; }
    public required long Delivered { get; init; }
    public required long Lost { get; init; }
    public required long Duplicates { get; init; }
    /// <summary>Deliveries of this run's messages whose POST did not answer 200 (e.g. timed out after the append).</summary>
    public required long Unexpected { get; init; }
    public required double DeliveriesPerSecond { get; init; }

    public double? LatencyP50Ms { get; init; }
    public double? LatencyP95Ms { get; init; }
    public double? LatencyP99Ms { get; init; }
    public double? LatencyMaxMs { get; init; }

    /// <summary>Presence updates (and other content events) the streams received while opening: the server coalesces them, at most about one per room per second.</summary>
    public required long OpenNotices { get; init; }

    public required double OpenSeconds { get; init; }
    public required double SettleSeconds { get; init; }
    public required double PostingSeconds { get; init; }
    public required double DrainSeconds { get; init; }

    public required IReadOnlyList<ProcessReport> Processes { get; init; }
    /// <summary>CPU time of all given server processes while the streams opened and their presence updates went round.</summary>
    public double? ServerCpuOpenMs { get; init; }
    /// <summary>CPU time of all given server processes from the first POST to the end of the drain.</summary>
    public double? ServerCpuMs { get; init; }
    public double? ServerCpuUsPerDelivery { get; init; }
    /// <summary>Growth of the summed RSS of all given processes from before the first stream to all streams open (and held).</summary>
    public double? RssPerStreamKiB { get; init; }
    public required double DriverCpuMs { get; init; }

    /// <summary>Nothing lost or duplicated, every stream stayed open, every POST was accepted.</summary>
    public required bool Ok { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Default.LoadReport);

    public static LoadReport? FromJson(string json) => JsonSerializer.Deserialize(json, ReportJsonContext.Default.LoadReport);

    public string ToTable()
    {
        var rows = new List<(string, string)>
        {
            ("run", $"{RunId}  {Urls.Count} instance(s): {string.Join(' ', Urls)}"),
            ("streams", $"{StreamsOpen} open of {Clients}" + (StreamsFailed + StreamsDropped > 0 ? $"  ({StreamsFailed} failed to open, {StreamsDropped} dropped)" : "")),
            ("target", $"{F(TargetRate)} msg/s for {F(Seconds)} s, payload {PayloadBytes} B"),
            ("posts", $"{PostsAccepted} accepted of {MessagesScheduled}, {PostsFailed} failed; achieved {F(AchievedRate)} msg/s; POST p50 {Ms(PostP50Ms)} p99 {Ms(PostP99Ms)}"),
            ("deliveries", $"{Delivered} of {Expected} expected; {F(DeliveriesPerSecond)} /s"),
            ("lost / dup", $"{Lost} lost, {Duplicates} duplicates, {Unexpected} unexpected"),
            ("latency", $"p50 {Ms(LatencyP50Ms)}  p95 {Ms(LatencyP95Ms)}  p99 {Ms(LatencyP99Ms)}  max {Ms(LatencyMaxMs)}"),
            ("phases", $"open {F(OpenSeconds)} s, settle {F(SettleSeconds)} s, posting {F(PostingSeconds)} s, drain {F(DrainSeconds)} s"),
            ("opening", $"{OpenNotices} notices delivered" + (ServerCpuOpenMs is null ? "" : $"; server cpu {F(ServerCpuOpenMs)} ms")),
            ("server cpu", ServerCpuMs is null ? "(no --pids)" : $"{F(ServerCpuMs.Value)} ms ({F(Processes.Sum(p => p.SystemCpuMs))} in the kernel); {F(ServerCpuUsPerDelivery)} µs per delivered message"),
            ("server rss", RssPerStreamKiB is null ? "(no --pids)" : $"{F(RssPerStreamKiB.Value)} KiB per open stream"),
            ("driver cpu", $"{F(DriverCpuMs)} ms"),
            ("result", Ok ? "OK" : "FAILED"),
        };
        foreach (var p in Processes)
        {
            rows.Insert(rows.Count - 2, ($"pid {p.Pid}", $"cpu {F(p.CpuMs)} ms ({F(p.SystemCpuMs)} in the kernel), rss {p.RssBeforeKiB} -> {p.RssOpenKiB} KiB"));
        }

        foreach (var (status, count) in PostErrors)
        {
            rows.Insert(rows.Count - 1, ("post error", $"{count} x {status}"));
        }

        foreach (var error in StreamErrors)
        {
            rows.Insert(rows.Count - 1, ("stream error", error));
        }

        var width = rows.Max(r => r.Item1.Length);
        var sb = new StringBuilder();
        foreach (var (name, value) in rows)
        {
            sb.Append(name.PadRight(width)).Append(" | ").Append(value).Append('\n');
        }

        return sb.ToString();
    }

    private static string F(double? value) => value is null ? "-" : value.Value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Ms(double? value) => value is null ? "-" : F(value) + " ms";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LoadReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
