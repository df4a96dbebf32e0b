using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SseChat.LoadDriver;

/// <summary>Resource use of one server process over the run: CPU time in user and kernel mode, RSS before and with the streams open.</summary>
internal sealed record ProcessReport(int Pid, double CpuMs, double SystemCpuMs, long RssBeforeKiB, long RssOpenKiB);

/// <summary>
/// What only a fault run has. The rest is in the report itself: acknowledged (2xx) POSTs are <see cref="LoadReport.PostsAccepted"/>,
/// each must reach every counted stream exactly once (<see cref="LoadReport.Lost"/>, <see cref="LoadReport.Duplicates"/>);
/// refused ones (any other answer, or none) are <see cref="LoadReport.PostsFailed"/>, by kind in <see cref="LoadReport.PostErrors"/>,
/// and may be lost (delivered anyway: <see cref="LoadReport.Unexpected"/>).
/// </summary>
internal sealed record FaultReport
{
    public required string Kind { get; init; }
    public required double AtSeconds { get; init; }
    public required double ForSeconds { get; init; }
    /// <summary>What the fault hit: redis-server (with its pids) or the killed instance's URL.</summary>
    public required string Target { get; init; }
    /// <summary>When the fault began (the signal), in ms since the first measured POST; null if it never did.</summary>
    public double? StartMs { get; init; }
    /// <summary>When it ended: Redis started again or resumed, or the instance had exited; null if it never did.</summary>
    public double? EndMs { get; init; }
    public int? NewRedisPid { get; init; }
    /// <summary>Why the fault could not be caused (the run then proves nothing and is not OK).</summary>
    public string? Error { get; init; }

    /// <summary>Deliveries of acknowledged messages missing, by the URL each stream first opened on (they sum to <see cref="LoadReport.Lost"/>).</summary>
    public required IReadOnlyDictionary<string, long> LostByInstance { get; init; }
    /// <summary>For each instance with a loss: which acknowledged messages its streams lack (sequence runs, when posted, on how many streams).</summary>
    public IReadOnlyDictionary<string, string> LostMessages { get; init; } = new Dictionary<string, string>();
    public required long Reconnects { get; init; }
    public required IReadOnlyDictionary<string, int> ReconnectCauses { get; init; }
    /// <summary>Named <c>reset</c> events (resume point no longer in the log; a page would reload its history).</summary>
    public required long Resets { get; init; }
    /// <summary>From the fault's end until the first acknowledged message posted after it had reached every counted stream; null: it never did.</summary>
    public double? RecoverMs { get; init; }
    public required int StreamsCounted { get; init; }
    public required int StreamsOpenAtEnd { get; init; }
}

/// <summary>The outcome of one run: what was sent, what arrived, how fast, and what it cost the servers.</summary>
internal sealed record LoadReport
{
    public required string RunId { get; init; }
    /// <summary>The variant this run measured (<c>--label</c>), or null.</summary>
    public string? Label { get; init; }
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

    /// <summary>The fault run's figures; null for a run without a fault.</summary>
    public FaultReport? Fault { get; init; }

    /// <summary>
    /// Nothing lost or duplicated, every stream stayed open, every POST was accepted. With a fault: the fault happened,
    /// some POST was acknowledged, none of those was lost on any stream, nothing twice, every stream open at the end.
    /// </summary>
    public required bool Ok { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Default.LoadReport);

    public static LoadReport? FromJson(string json) => JsonSerializer.Deserialize(json, ReportJsonContext.Default.LoadReport);

    public string ToTable()
    {
        var rows = new List<(string, string)>
        {
            ("run", $"{RunId}{(Label is null ? "" : $" ({Label})")}  {Urls.Count} instance(s): {string.Join(' ', Urls)}"),
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

        if (Fault is { } fault)
        {
            rows.InsertRange(rows.Count - 1, FaultRows(fault, this));
        }

        var width = rows.Max(r => r.Item1.Length);
        var sb = new StringBuilder();
        foreach (var (name, value) in rows)
        {
            sb.Append(name.PadRight(width)).Append(" | ").Append(value).Append('\n');
        }

        return sb.ToString();
    }

    private static IEnumerable<(string, string)> FaultRows(FaultReport f, LoadReport r)
    {
        yield return ("fault", $"{f.Kind} at {F(f.AtSeconds)} s" + (f.Kind == "instance-kill" ? "" : $" for {F(f.ForSeconds)} s") + $": {f.Target}");
        yield return ("fault window", f.Error is not null
            ? $"FAILED: {f.Error}"
            : $"{F(f.StartMs)} -> {F(f.EndMs)} ms into posting" + (f.NewRedisPid is { } pid ? $"; redis-server's new pid {pid}" : ""));
        yield return ("acknowledged", $"{r.PostsAccepted}; refused {r.PostsFailed}" + Kinds(r.PostErrors));
        yield return ("lost of ack", $"{r.Lost} ({string.Join(", ", f.LostByInstance.Select(l => $"{l.Key} {l.Value}"))}); {r.Duplicates} duplicates, {r.Unexpected} unexpected");
        foreach (var (url, messages) in f.LostMessages)
        {
            yield return ("lost msgs", $"{url}: {messages}");
        }

        yield return ("reconnects", $"{f.Reconnects}" + Kinds(f.ReconnectCauses) + $"; {f.Resets} resets; {f.StreamsOpenAtEnd} of {f.StreamsCounted} streams open at the end");
        yield return ("recovery", (f.RecoverMs is null ? "never (the first message acknowledged after the fault did not reach every stream)" : $"{F(f.RecoverMs)} ms after the fault ended") +
            $"; max latency {Ms(r.LatencyMaxMs)}");
    }

    private static string Kinds(IReadOnlyDictionary<string, int> counts) =>
        counts.Count == 0 ? "" : $" ({string.Join(", ", counts.OrderByDescending(k => k.Value).Select(k => $"{k.Value} x {k.Key}"))})";

    private static string F(double? value) => value is null ? "-" : value.Value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Ms(double? value) => value is null ? "-" : F(value) + " ms";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LoadReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
