using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace SseChat.LoadDriver;

/// <summary>
/// One load run, in phases that each have a time bound: fetch a page per instance (token + cookies), sample the
/// servers, open every stream and wait for each one's first event, let the presence updates die down, sample memory,
/// post at the target rate round-robin across instances, wait for the last deliveries, sample CPU, close.
/// </summary>
internal static class LoadRun
{
    private static readonly TimeSpan PostTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    /// <summary>How long after posting ended the fault may still take to finish (it ends before posting does, unless it hangs).</summary>
    private static readonly TimeSpan FaultBound = TimeSpan.FromSeconds(60);

    public static Task<LoadReport> RunAsync(DriverOptions options, TextWriter progress, CancellationToken cancellationToken) =>
        RunAsync(options, progress, null, cancellationToken);

    /// <param name="faultTarget">what a fault run acts on; null: the processes of --pids (<see cref="ProcessFaultTarget"/>).</param>
    public static async Task<LoadReport> RunAsync(DriverOptions options, TextWriter progress, IFaultTarget? faultTarget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        options.Validate();
        progress = TextWriter.Synchronized(progress);
        var run = options.RunId ?? LoadText.NewRunId();
        var faulted = options.Fault is not null;
        if (faulted)
        {
            faultTarget ??= ProcessFaultTarget.For(options);
        }

        // Per-message arrival times only where a fault run needs them (time to recover).
        var ledger = new DeliveryLedger(options.MessageCount, trackArrivals: faulted);
        var reconnection = faulted ? new Reconnection() : null;

        using var postHandler = new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = options.PostConnections,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        using var postHttp = new HttpClient(postHandler) { Timeout = PostTimeout };

        var instances = await Task.WhenAll(options.Urls.Select(u => ChatInstance.OpenAsync(postHttp, u, cancellationToken)));
        var before = ProcessStats.Read(options.Pids);
        var self = Process.GetCurrentProcess();
        var driverCpuStart = self.TotalProcessorTime;

        // Phase 1: every stream open (first event received), then quiet (the presence updates of the burst delivered).
        progress.WriteLine($"run {run}: opening {options.Clients} streams on {instances.Length} instance(s)");
        using var streams = new StreamSet([.. instances.Select(i => i.Events)], options.Clients, ledger.MessageCount, options.OpenConcurrency, options.BrowserHeaders, cancellationToken);
        var openStart = Stopwatch.GetTimestamp();
        streams.Start(System.Text.Encoding.ASCII.GetBytes(run), ledger, options.OpenTimeout, reconnection);
        await WaitAllSettledAsync(streams, options.OpenTimeout, progress, cancellationToken);
        var openSeconds = Stopwatch.GetElapsedTime(openStart).TotalSeconds;
        var settleStart = Stopwatch.GetTimestamp();
        await WaitQuietAsync(streams, options.SettleTimeout, cancellationToken);
        var settleSeconds = Stopwatch.GetElapsedTime(settleStart).TotalSeconds;
        var openNotices = streams.ContentEvents;
        var settled = ProcessStats.Read(options.Pids);
        progress.WriteLine($"{streams.OpenCount}/{options.Clients} streams open in {openSeconds:0.0} s; quiet after {settleSeconds:0.0} s more ({openNotices} notices)");
        if (options.Hold > TimeSpan.Zero)
        {
            progress.WriteLine($"holding the streams idle for {options.Hold.TotalSeconds:0} s");
            await Task.Delay(options.Hold, cancellationToken);
        }

        var open = ProcessStats.Read(options.Pids);
        if (options.Warmup > TimeSpan.Zero && options.Rate > 0)
        {
            await WarmUpAsync(options, instances, run, postHttp, streams, progress, cancellationToken);
        }

        var counted = streams.Receivers.Where(r => r.Opened && r.Failure is null).ToArray();

        // Phase 2: post on schedule, round-robin across instances.
        var cpuStart = ProcessStats.Read(options.Pids);
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        progress.WriteLine($"posting {ledger.MessageCount} messages at {options.Rate.ToString(CultureInfo.InvariantCulture)}/s");
        var postingStart = Stopwatch.GetTimestamp();
        var faultTask = faulted ? FaultRunner.RunAsync(options, faultTarget!, postingStart, progress, cancellationToken) : null;
        FaultOutcome? fault = null;
        try
        {
            var posts = await PostScheduleAsync(options, instances, run, ledger, postHttp, errors, cancellationToken);
            await Task.WhenAll(posts).WaitAsync(PostTimeout + TimeSpan.FromSeconds(5), cancellationToken);
        }
        finally
        {
            // Also when posting failed: the fault puts Redis back before the run ends.
            fault = faultTask is null ? null : await faultTask.WaitAsync(FaultBound, CancellationToken.None);
        }

        var postingSeconds = Stopwatch.GetElapsedTime(postingStart).TotalSeconds;
        var accepted = Bitmaps.Count(ledger.Accepted);
        var failed = ledger.MessageCount - accepted;

        // Phase 3: wait for what is still on its way (in a fault run, also for every stream to be back).
        var drainStart = Stopwatch.GetTimestamp();
        var target = accepted * counted.Length;
        while (Stopwatch.GetElapsedTime(drainStart) < options.Drain
            && (faulted
                ? !(AllDelivered(streams, counted, ledger, target) && counted.All(r => r.Connected))
                : !AllDelivered(streams, counted, ledger, target) && streams.OpenCount > 0))
        {
            await Task.Delay(20, cancellationToken);
        }

        var drainSeconds = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;
        var openAtEnd = counted.Count(r => r.Connected);
        var serverCpu = ServerCpu(options.Pids, cpuStart, fault);
        var driverCpuMs = (self.TotalProcessorTime - driverCpuStart).TotalMilliseconds;
        progress.WriteLine($"posted {accepted}/{ledger.MessageCount} in {postingSeconds:0.0} s; drained in {drainSeconds:0.00} s; closing streams");
        await streams.StopAsync(TimeSpan.FromSeconds(10));

        // The tally, exact per stream: every accepted message once on every stream that was open when posting began.
        long delivered = 0, unexpected = 0, duplicates = 0, lastDelivery = postingStart;
        foreach (var r in counted)
        {
            delivered += DeliveredOfAccepted(r, ledger);
            unexpected += Bitmaps.CountOnlyFirst(r.Seen, ledger.Accepted) + r.OutOfRange;
            duplicates += r.Duplicates;
            lastDelivery = Math.Max(lastDelivery, r.LastDeliveryAt);
        }

        // Failed: never delivered a first event. Dropped: opened, then ended before the run stopped it (any phase);
        // in a fault run, where streams come back: opened, and not open at the end.
        var streamsFailed = streams.Receivers.Count(r => !r.Opened);
        var dropped = faulted ? counted.Length - openAtEnd : streams.Receivers.Count(r => r.Opened && r.Failure is not null);

        var expected = accepted * counted.Length;
        var deliverySeconds = Stopwatch.GetElapsedTime(postingStart, lastDelivery).TotalSeconds;
        var processes = serverCpu.Select((cpu, i) => new ProcessReport(
            options.Pids[i],
            ProcessSample.TicksToMilliseconds(cpu.Ticks),
            ProcessSample.TicksToMilliseconds(cpu.SystemTicks),
            before[i].RssKiB,
            open[i].RssKiB)).ToArray();
        var serverCpuMs = options.Pids.Count == 0 ? (double?)null : processes.Sum(p => p.CpuMs);
        var lost = expected - delivered;
        var faultReport = fault is null
            ? null
            : Tally(options, fault, counted, ledger, reconnection!, postingStart, accepted, openAtEnd);

        return new LoadReport
        {
            RunId = run,
            Label = options.Label,
            Urls = [.. options.Urls.Select(u => u.ToString().TrimEnd('/'))],
            Clients = options.Clients,
            StreamsOpen = counted.Length,
            StreamsFailed = streamsFailed,
            StreamsDropped = dropped,
            StreamErrors = [.. streams.Receivers.Where(r => r.Failure is not null).GroupBy(r => r.Failure!).Select(g => $"{g.Count()} x {g.Key}")],
            TargetRate = options.Rate,
            Seconds = options.Seconds,
            PayloadBytes = options.PayloadBytes,
            MessagesScheduled = ledger.MessageCount,
            PostsAccepted = accepted,
            PostsFailed = failed,
            PostErrors = errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
            AchievedRate = postingSeconds > 0 ? accepted / postingSeconds : 0,
            PostP50Ms = Percentile(ledger.PostLatency, 50),
            PostP99Ms = Percentile(ledger.PostLatency, 99),
            Expected = expected,
            Delivered = delivered,
            Lost = lost,
            Duplicates = duplicates,
            Unexpected = unexpected,
            DeliveriesPerSecond = deliverySeconds > 0 ? delivered / deliverySeconds : 0,
            LatencyP50Ms = Percentile(ledger.Latency, 50),
            LatencyP95Ms = Percentile(ledger.Latency, 95),
            LatencyP99Ms = Percentile(ledger.Latency, 99),
            LatencyMaxMs = ledger.Latency.TotalCount == 0 ? null : ledger.Latency.GetMaxValue() / 1000.0,
            OpenNotices = openNotices,
            OpenSeconds = openSeconds,
            SettleSeconds = settleSeconds,
            PostingSeconds = postingSeconds,
            DrainSeconds = drainSeconds,
            Processes = processes,
            ServerCpuOpenMs = options.Pids.Count == 0
                ? null
                : ProcessSample.TicksToMilliseconds(settled.Sum(s => s.CpuTicks) - before.Sum(s => s.CpuTicks)),
            ServerCpuMs = serverCpuMs,
            ServerCpuUsPerDelivery = serverCpuMs is null || delivered == 0 ? null : serverCpuMs * 1000.0 / delivered,
            RssPerStreamKiB = options.Pids.Count == 0 || counted.Length == 0
                ? null
                : (double)(open.Sum(s => s.RssKiB) - before.Sum(s => s.RssKiB)) / counted.Length,
            DriverCpuMs = driverCpuMs,
            Fault = faultReport,
            Ok = lost == 0 && duplicates == 0 && streamsFailed == 0 && dropped == 0
                && (faultReport is null ? failed == 0 : faultReport.Error is null && faultReport.EndMs is not null && accepted > 0),
        };
    }

    /// <summary>
    /// CPU ticks of each server process from the first POST (<paramref name="start"/>) to now. Across a fault, a process that was killed counts
    /// up to the fault, and Redis started again counts its old process up to the fault plus its new one's lifetime.
    /// </summary>
    private static (long Ticks, long SystemTicks)[] ServerCpu(IReadOnlyList<int> pids, ProcessSample[] start, FaultOutcome? fault)
    {
        if (fault is null)
        {
            var end = ProcessStats.Read(pids);
            return [.. end.Select((e, i) => (e.CpuTicks - start[i].CpuTicks, e.SystemTicks - start[i].SystemTicks))];
        }

        var cpu = new (long, long)[pids.Count];
        for (var i = 0; i < pids.Count; i++)
        {
            var replacement = i == pids.Count - 1 ? fault.NewRedisPid : null;
            var now = ProcessStats.TryRead([replacement ?? pids[i]])[0];
            var untilFault = i < fault.BeforeFault.Length ? fault.BeforeFault[i] : null;
            cpu[i] = (replacement, now) switch
            {
                (null, { } same) => (same.CpuTicks - start[i].CpuTicks, same.SystemTicks - start[i].SystemTicks),
                _ => ((untilFault?.CpuTicks ?? start[i].CpuTicks) - start[i].CpuTicks + (replacement is null ? 0 : now?.CpuTicks ?? 0),
                    (untilFault?.SystemTicks ?? start[i].SystemTicks) - start[i].SystemTicks + (replacement is null ? 0 : now?.SystemTicks ?? 0)),
            };
        }

        return cpu;
    }

    /// <summary>A fault run's own figures: losses per instance, reconnects, time to recover.</summary>
    private static FaultReport Tally(
        DriverOptions options,
        FaultOutcome fault,
        StreamReceiver[] counted,
        DeliveryLedger ledger,
        Reconnection reconnection,
        long postingStart,
        long accepted,
        int openAtEnd)
    {
        var kind = options.Fault!.Value;
        var urls = options.Urls.Select(u => u.ToString().TrimEnd('/')).ToArray();
        var lostByInstance = new Dictionary<string, long>(StringComparer.Ordinal);
        var lostMessages = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < urls.Length; i++)
        {
            var streams = counted.Where(r => r.Instance == i).ToArray();
            lostByInstance[urls[i]] = streams.Sum(r => accepted - DeliveredOfAccepted(r, ledger));
            if (lostByInstance[urls[i]] > 0)
            {
                lostMessages[urls[i]] = DescribeMissing(streams, ledger, postingStart);
            }
        }

        double? Since(long at) => at == 0 ? null : Stopwatch.GetElapsedTime(postingStart, at).TotalMilliseconds;
        return new FaultReport
        {
            Kind = FaultKinds.Name(kind),
            AtSeconds = options.FaultAt.TotalSeconds,
            ForSeconds = kind == FaultKind.InstanceKill ? 0 : options.FaultFor.TotalSeconds,
            Target = kind == FaultKind.InstanceKill
                ? $"instance {urls[options.FaultInstanceIndex]} (pid {options.Pids[options.FaultInstanceIndex]})"
                : $"redis-server (pid {options.Pids[^1]})",
            StartMs = Since(fault.StartedAt),
            EndMs = Since(fault.EndedAt),
            NewRedisPid = fault.NewRedisPid,
            Error = fault.Error,
            LostByInstance = lostByInstance,
            LostMessages = lostMessages,
            Reconnects = counted.Sum(r => r.Reconnects),
            ReconnectCauses = reconnection.Causes.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
            Resets = counted.Sum(r => r.Resets),
            RecoverMs = RecoveryMs(fault, counted, ledger),
            StreamsCounted = counted.Length,
            StreamsOpenAtEnd = openAtEnd,
        };
    }

    /// <summary>
    /// The acknowledged messages some of these streams lack, as runs of sequence numbers with when the run's first was
    /// posted (ms into posting) and on how many streams it is missing: "512-515 at 10240 ms on 100 streams". At most 10 runs.
    /// </summary>
    private static string DescribeMissing(StreamReceiver[] streams, DeliveryLedger ledger, long postingStart)
    {
        const int MaxRuns = 10;
        var runs = new List<string>();
        var more = 0;
        var seq = 0;
        int Missing(int s) => ledger.IsAccepted(s) ? streams.Count(r => !r.HasSeen(s)) : 0;
        while (seq < ledger.MessageCount)
        {
            var missing = Missing(seq);
            if (missing == 0)
            {
                seq++;
                continue;
            }

            var first = seq;
            while (seq + 1 < ledger.MessageCount && Missing(seq + 1) > 0)
            {
                seq++;
            }

            if (runs.Count < MaxRuns)
            {
                var at = Stopwatch.GetElapsedTime(postingStart, ledger.SentAt(first)).TotalMilliseconds;
                runs.Add(string.Create(CultureInfo.InvariantCulture, $"{(first == seq ? $"{first}" : $"{first}-{seq}")} at {at:0} ms on {missing} streams"));
            }
            else
            {
                more++;
            }

            seq++;
        }

        return string.Join(", ", runs) + (more > 0 ? string.Create(CultureInfo.InvariantCulture, $" and {more} more runs") : "");
    }

    /// <summary>From the fault's end until the first message acknowledged among those posted after it reached the last counted stream.</summary>
    private static double? RecoveryMs(FaultOutcome fault, StreamReceiver[] counted, DeliveryLedger ledger)
    {
        if (fault.EndedAt == 0)
        {
            return null;
        }

        for (var seq = 0; seq < ledger.MessageCount; seq++)
        {
            if (ledger.SentAt(seq) >= fault.EndedAt && ledger.IsAccepted(seq))
            {
                return counted.All(r => r.HasSeen(seq))
                    ? Math.Max(0, Stopwatch.GetElapsedTime(fault.EndedAt, ledger.LastArrival(seq)).TotalMilliseconds)
                    : null;
            }
        }

        return null;
    }

    /// <summary>
    /// True when every counted stream has every accepted message. The cheap sum comes first; it also counts messages
    /// whose POST failed but that were delivered all the same, so only the exact tally can say yes.
    /// </summary>
    private static bool AllDelivered(StreamSet streams, StreamReceiver[] counted, DeliveryLedger ledger, long target)
    {
        if (streams.Unique < target)
        {
            return false;
        }

        long delivered = 0;
        foreach (var r in counted)
        {
            delivered += DeliveredOfAccepted(r, ledger);
        }

        return delivered >= target;
    }

    private static long DeliveredOfAccepted(StreamReceiver receiver, DeliveryLedger ledger) =>
        Bitmaps.CountBoth(receiver.Seen, ledger.Accepted);

    private static async Task WaitAllSettledAsync(StreamSet streams, TimeSpan bound, TextWriter progress, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (!streams.AllSettled.IsCompleted)
        {
            var left = bound + TimeSpan.FromSeconds(5) - Stopwatch.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
            {
                // Streams still connecting count as failed to open; the report says so.
                progress.WriteLine($"only {streams.Settled}/{streams.Receivers.Count} streams settled within the open timeout");
                return;
            }

            await Task.WhenAny(streams.AllSettled, Task.Delay(TimeSpan.FromSeconds(Math.Min(2, left.TotalSeconds)), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            if (!streams.AllSettled.IsCompleted)
            {
                progress.WriteLine($"  {streams.OpenCount}/{streams.Receivers.Count} open");
            }
        }
    }

    /// <summary>Opens make streams receive presence updates (coalesced by the server): waits until no content event came for a moment.</summary>
    private static async Task WaitQuietAsync(StreamSet streams, TimeSpan bound, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var last = streams.ContentEvents;
        var quietSince = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < bound)
        {
            await Task.Delay(50, cancellationToken);
            var now = streams.ContentEvents;
            if (now != last)
            {
                last = now;
                quietSince = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(quietSince) >= Quiet)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Posts at the run's rate under another run id (the streams see those messages as someone else's), so the
    /// measured window starts with warm servers: JIT tiers, connection pools, Redis script cache.
    /// </summary>
    private static async Task WarmUpAsync(DriverOptions options, ChatInstance[] instances, string run, HttpClient http, StreamSet streams, TextWriter progress, CancellationToken cancellationToken)
    {
        var warm = options with { Seconds = options.Warmup.TotalSeconds };
        var ledger = new DeliveryLedger(warm.MessageCount);
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        progress.WriteLine($"warming up: {ledger.MessageCount} messages in {options.Warmup.TotalSeconds:0} s");
        var posts = await PostScheduleAsync(warm, instances, run + "w", ledger, http, errors, cancellationToken);
        await Task.WhenAll(posts).WaitAsync(PostTimeout + TimeSpan.FromSeconds(5), cancellationToken);
        await WaitQuietAsync(streams, options.SettleTimeout, cancellationToken);
        if (!errors.IsEmpty)
        {
            progress.WriteLine($"  warm-up POST errors: {string.Join(", ", errors.Select(e => $"{e.Value} x {e.Key}"))}");
        }
    }

    private static async Task<List<Task>> PostScheduleAsync(
        DriverOptions options,
        ChatInstance[] instances,
        string run,
        DeliveryLedger ledger,
        HttpClient http,
        ConcurrentDictionary<string, int> errors,
        CancellationToken cancellationToken)
    {
        var posts = new List<Task>(ledger.MessageCount);
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        while (next < ledger.MessageCount)
        {
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var due = (int)Math.Min(ledger.MessageCount, Math.Floor(elapsed * options.Rate) + 1);
            for (; next < due; next++)
            {
                posts.Add(PostOneAsync(instances[next % instances.Length], run, next, options.PayloadBytes, ledger, http, errors, cancellationToken));
            }

            if (next < ledger.MessageCount)
            {
                var wait = (next / options.Rate) - Stopwatch.GetElapsedTime(start).TotalSeconds;
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(wait, 0.001)), cancellationToken);
            }
        }

        return posts;
    }

    private static async Task PostOneAsync(
        ChatInstance instance,
        string run,
        int seq,
        int payloadBytes,
        DeliveryLedger ledger,
        HttpClient http,
        ConcurrentDictionary<string, int> errors,
        CancellationToken cancellationToken)
    {
        var text = LoadText.Format(run, seq, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), payloadBytes);
        using var request = instance.NewPost(text, LoadText.ClientMessageId(run, seq));
        var sentAt = Stopwatch.GetTimestamp();
        ledger.MarkSent(seq, sentAt);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            ledger.RecordPost(sentAt, Stopwatch.GetTimestamp());
            if (response.IsSuccessStatusCode)
            {
                ledger.MarkAccepted(seq);
            }
            else
            {
                errors.AddOrUpdate($"HTTP {(int)response.StatusCode}", 1, (_, n) => n + 1);
            }
        }
#pragma warning disable CA1031 // a failed POST is counted by its kind, never thrown into the schedule
        catch (Exception ex)
#pragma warning restore CA1031
        {
            errors.AddOrUpdate(Failures.Kind(ex), 1, (_, n) => n + 1);
        }
    }

    private static double? Percentile(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? null : histogram.GetValueAtPercentile(percentile) / 1000.0;
}
