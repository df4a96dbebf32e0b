using SseChat.LoadDriver;
using SseChat.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// One short run of the load driver's fault benchmark in-process against real instances: streams spread over them, 40
/// messages a second round-robin, the fault at 2 s. Returns the report and, for assertion messages, everything that
/// explains it (table, JSON, the driver's progress, each instance's output).
/// </summary>
internal static class FaultRuns
{
    /// <summary>Streams of one address, reconnecting across instances, stay well within one instance's cap.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?> { ["Limits__StreamsPerAddress"] = "10000" };

    /// <param name="redisPid">the Redis process the fault acts on (the driver samples its CPU, last of the pids).</param>
    public static async Task<(LoadReport Report, string Context)> RunAsync(
        ITestOutputHelper output, Instances instances, int redisPid, IFaultTarget target, FaultKind kind, int clients, double seconds,
        TimeSpan? faultFor = null)
    {
        var apps = Enumerable.Range(0, instances.Count).Select(i => instances[i]).ToArray();
        var options = new DriverOptions
        {
            Urls = [.. apps.Select(a => a.BaseAddress)],
            Pids = [.. apps.Select(a => a.ProcessId), redisPid],
            Clients = clients,
            Rate = 40,
            Seconds = seconds,
            Fault = kind,
            FaultAt = TimeSpan.FromSeconds(2),
            FaultFor = faultFor ?? TimeSpan.FromSeconds(1),
            OpenTimeout = TimeSpan.FromSeconds(20),
            SettleTimeout = TimeSpan.FromSeconds(10),
            Drain = TimeSpan.FromSeconds(8),
        };
        var progress = new StringWriter();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var report = await LoadRun.RunAsync(options, progress, target, bound.Token);

        output.WriteLine(report.ToTable());
        output.WriteLine(report.ToJson());
        var outputs = string.Join("\n", apps.Select((a, i) => $"--- instance {i + 1}\n{a.Output}"));
        return (report, $"{report.ToTable()}\n{report.ToJson()}\n{progress}\n{outputs}");
    }
}
