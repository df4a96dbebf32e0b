using System.Text;
using SseChat.LoadDriver;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>The load driver's parts on their own: arguments, the message text, parsing real frames, /proc, the form.</summary>
public sealed class LoadDriverTests
{
    [Fact]
    public void Options_parse_both_argument_forms()
    {
        var options = DriverOptions.Parse(["--urls", "http://127.0.0.1:5001, http://localhost:5002/", "--clients=300", "--rate", "100",
            "--seconds", "2.5", "--payload", "200", "--pids", "10,20", "--warmup", "3", "--label", "aof always", "--stream-headers", "browser"]);

        Assert.Equal(["http://127.0.0.1:5001/", "http://localhost:5002/"], options.Urls.Select(u => u.ToString()));
        Assert.Equal(300, options.Clients);
        Assert.Equal(100, options.Rate);
        Assert.Equal(250, options.MessageCount);
        Assert.Equal(200, options.PayloadBytes);
        Assert.True(options.BrowserHeaders);
        Assert.False(DriverOptions.Parse(["--urls", "http://127.0.0.1:1"]).BrowserHeaders);
        Assert.Equal([10, 20], options.Pids);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Warmup);
        Assert.Equal("aof always", options.Label);
    }

    [Theory]
    [InlineData("--clients", "10")]
    [InlineData("--urls", "http://127.0.0.1:1", "--bogus", "1")]
    [InlineData("--urls", "http://127.0.0.1:1", "--clients", "0")]
    [InlineData("--urls", "http://127.0.0.1:1", "--payload", "2001")]
    [InlineData("--urls", "http://127.0.0.1:1", "--pids", "12,abc")]
    [InlineData("--urls", "http://127.0.0.1:1", "--run-id", "has-dash")]
    [InlineData("--urls", "http://127.0.0.1:1", "--stream-headers", "firefox")]
    [InlineData("--urls", "http://127.0.0.1:1", "--rate")]
    [InlineData("--urls", "http://10.1.2.3:5001")]
    [InlineData("--urls", "http://example.com")]
    public void Bad_or_remote_arguments_are_refused(params string[] args)
    {
        Assert.Throws<ArgumentException>(() => DriverOptions.Parse(args));
    }

    [Fact]
    public void A_fault_run_parses_its_kind_time_duration_instance_and_redis_start()
    {
        var options = DriverOptions.Parse([.. FaultRun, "--fault", "redis-restart", "--fault-at", "2.5", "--fault-for=1",
            "--redis-start", "redis-server --port 6399 --save ''"]);

        Assert.Equal(FaultKind.RedisRestart, options.Fault);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.FaultAt);
        Assert.Equal(TimeSpan.FromSeconds(1), options.FaultFor);
        Assert.Equal("redis-server --port 6399 --save ''", options.RedisStart);

        var kill = DriverOptions.Parse([.. FaultRun, "--fault", "instance-kill", "--fault-instance", "2"]);
        Assert.Equal(FaultKind.InstanceKill, kill.Fault);
        Assert.Equal(1, kill.FaultInstanceIndex);
        Assert.Equal(2, DriverOptions.Parse([.. FaultRun, "--fault", "instance-kill"]).FaultInstanceIndex);

        var pause = DriverOptions.Parse([.. FaultRun, "--fault", "redis-pause"]);
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(3)), (pause.FaultAt, pause.FaultFor));
        Assert.Null(DriverOptions.Parse(["--urls", "http://127.0.0.1:1"]).Fault);
    }

    [Theory]
    [InlineData("takes redis-restart, redis-kill, redis-pause, instance-kill, primary-kill, not 'redis-crash'", "--fault", "redis-crash")]
    [InlineData("4 pids for 3 URL(s), not 3", "--fault", "redis-pause", "--pids", "1,2,3")]
    [InlineData("4 pids for 3 URL(s), not 0", "--fault", "redis-pause", "--pids", "")]
    [InlineData("must be below --seconds 10", "--fault", "redis-pause", "--fault-at", "8", "--fault-for", "2")]
    [InlineData("must fall within the posting phase", "--fault", "instance-kill", "--fault-at", "10")]
    [InlineData("is an index into --urls, 1 to 3, not 4", "--fault", "instance-kill", "--fault-instance", "4")]
    [InlineData("only goes with --fault instance-kill", "--fault", "redis-pause", "--fault-instance", "1")]
    [InlineData("--fault-at needs --fault", "--fault-at", "3")]
    [InlineData("--redis-start needs --fault", "--redis-start", "redis-server")]
    [InlineData("needs --redis-start CMD", "--fault", "redis-restart")]
    [InlineData("needs --redis-start CMD", "--fault", "redis-kill", "--redis-start", " ")]
    [InlineData("needs messages to lose", "--fault", "redis-pause", "--rate", "0")]
    public void Fault_options_that_cannot_make_a_fault_run_are_refused_with_the_reason(string reason, params string[] args)
    {
        var error = Assert.Throws<ArgumentException>(() => DriverOptions.Parse([.. FaultRun, .. args]));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Instance_kill_needs_another_instance_to_reconnect_to()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            DriverOptions.Parse(["--urls", "http://127.0.0.1:1", "--pids", "1,2", "--seconds", "10", "--fault", "instance-kill"]));

        Assert.Contains("at least 2 URLs", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Three instances, their pids and Redis's, 10 s of posting: what a fault run needs besides the fault.</summary>
    private static readonly string[] FaultRun =
        ["--urls", "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3", "--pids", "11,12,13,14", "--seconds", "10"];

    [Fact]
    public void A_remote_target_needs_the_explicit_flag()
    {
        var options = DriverOptions.Parse(["--urls", "http://example.com", "--allow-remote"]);

        Assert.Equal("example.com", options.Urls.Single().Host);
    }

    [Theory]
    [InlineData(0, "lt:abc123-42:1732000000000")]
    [InlineData(40, "lt:abc123-42:1732000000000 xxxxxxxxxxxxx")]
    public void The_text_is_the_marker_padded_to_the_payload_size(int payload, string expected)
    {
        var text = LoadText.Format("abc123", 42, 1732000000000, payload);

        Assert.Equal(expected, text);
        Assert.True(ClientMessageId.IsValid(LoadText.ClientMessageId("abc123", 42)));
    }

    [Theory]
    [InlineData("<p class=\"text\">lt:run1-7:1732000000000 xx</p>", true)]
    [InlineData("<p class=\"text\">lt:run1w-7:1732000000000</p>", false)] // another run whose id starts the same
    [InlineData("<p class=\"text\">lt:run2-7:1732000000000</p>", false)]
    [InlineData("<p class=\"text\">lt:run1-:1732000000000</p>", false)]
    [InlineData("<p class=\"text\">lt:run1-7</p>", false)]
    [InlineData("<li data-kind=\"user-joined\">guest-1 joined</li>", false)]
    public void Only_this_runs_well_formed_marker_parses(string data, bool parses)
    {
        var ok = LoadText.TryParse(Encoding.UTF8.GetBytes(data), "run1"u8, out var seq, out var sentMs);

        Assert.Equal(parses, ok);
        if (parses)
        {
            Assert.Equal(7, seq);
            Assert.Equal(1732000000000, sentMs);
        }
    }

    [Fact]
    public void Cpu_ticks_are_read_after_the_command_name_even_with_spaces_and_parentheses_in_it()
    {
        var stat = "4242 (dotnet (x) y) S 1 4242 4242 0 -1 4194560 20853 0 0 0 1234 567 0 0 20 0 25 0 1000 3000000000 30000";

        Assert.Equal((1234, 567), ProcessStats.ParseCpuTicks(stat));
        Assert.Equal(106_552, ProcessStats.ParseRssKiB(["Name:\tdotnet", "VmRSS:\t  106552 kB", "VmSwap:\t0 kB"]));
    }

    [Fact]
    public void This_process_can_be_sampled()
    {
        var sample = ProcessStats.Read(Environment.ProcessId);

        Assert.True(sample.RssKiB > 0);
        Assert.True(sample.CpuTicks > 0);
        Assert.Throws<InvalidOperationException>(() => ProcessStats.Read(int.MaxValue));
    }

    [Fact]
    public async Task The_driver_reads_the_same_token_and_client_id_from_the_real_page_as_a_browser_does()
    {
        using var app = new ChatAppFactory();
        using var browser = new ChatBrowser();
        using var response = await browser.Client(app.BaseAddress).GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();

        // One page, read by both: the token and client id differ from page to page, so only the same page can match.
        var page = await ChatBrowser.ReadPageAsync(response, html);
        var (token, cmid) = ChatInstance.ReadSendForm(html);

        Assert.False(string.IsNullOrEmpty(page.AntiforgeryToken));
        Assert.True(ClientMessageId.IsValid(page.ClientMessageId), page.ClientMessageId);
        Assert.Equal((page.AntiforgeryToken, page.ClientMessageId), (token, cmid));
        // And the server takes them, with the cookies that page set, as it does a browser's.
        using var posted = await browser.PostFormAsync(app.BaseAddress, "/messages", htmx: true,
            new() { ["text"] = "read by the driver", ["cmid"] = cmid, [ChatInstance.TokenField] = token });
        Assert.Equal(System.Net.HttpStatusCode.OK, posted.StatusCode);
        Assert.Throws<InvalidOperationException>(() => ChatInstance.ReadSendForm("<html><form id=\"nick\"></form></html>"));
    }

    [Fact]
    public void The_report_round_trips_through_its_json_line()
    {
        var report = new LoadReport
        {
            RunId = "r1", Label = "aof always", Urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"], Clients = 2, StreamsOpen = 3, StreamsFailed = 4, StreamsDropped = 5,
            StreamErrors = ["reset", "closed"], TargetRate = 10.5, Seconds = 1.5, PayloadBytes = 6, MessagesScheduled = 7, PostsAccepted = 8,
            PostsFailed = 9, PostErrors = new Dictionary<string, int> { ["HTTP 503"] = 10, ["timeout"] = 11 }, AchievedRate = 12.5, PostP50Ms = 13.5,
            PostP99Ms = 14.5, Expected = 15, Delivered = 16, Lost = 17, Duplicates = 18, Unexpected = 19, DeliveriesPerSecond = 20.5, LatencyP50Ms = 21.5,
            LatencyP95Ms = 22.5, LatencyP99Ms = 23.5, LatencyMaxMs = 24.5, OpenNotices = 25, OpenSeconds = 26.5, SettleSeconds = 27.5, PostingSeconds = 28.5,
            DrainSeconds = 29.5, Processes = [new ProcessReport(1, 30.5, 31.5, 32, 33), new ProcessReport(2, 34.5, 35.5, 36, 37)], ServerCpuOpenMs = 38.5,
            ServerCpuMs = 39.5, ServerCpuUsPerDelivery = 40.5, RssPerStreamKiB = 41.5, DriverCpuMs = 42.5, Ok = true,
            Fault = new FaultReport
            {
                Kind = "redis-kill", AtSeconds = 43.5, ForSeconds = 44.5, Target = "redis-server (pid 45)", StartMs = 46.5, EndMs = 47.5, NewRedisPid = 48,
                Error = "could not start", LostByInstance = new Dictionary<string, long> { ["http://127.0.0.1:1"] = 49 },
                LostMessages = new Dictionary<string, string> { ["http://127.0.0.1:1"] = "50 at 51 ms on 2 streams" }, Reconnects = 52,
                ReconnectCauses = new Dictionary<string, int> { ["the server ended the stream"] = 53 }, Resets = 54, RecoverMs = 55.5,
                StreamsCounted = 56, StreamsOpenAtEnd = 57,
            },
        };
        LoadReports.AssertEveryFieldSet(report); // so that a field the round trip loses cannot hide behind its default
        LoadReports.AssertEveryFieldSet(report.Fault);

        var json = report.ToJson();

        Assert.DoesNotContain('\n', json);
        Assert.Contains("\"lost\":17,", json, StringComparison.Ordinal);
        Assert.EndsWith("\"ok\":true}", json, StringComparison.Ordinal);
        LoadReports.AssertRoundTrips(report);
        Assert.Contains("result", report.ToTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_fault_runs_figures_go_into_a_nested_fault_object_and_the_table()
    {
        var fault = new FaultReport
        {
            Kind = "redis-restart", AtSeconds = 2, ForSeconds = 1, Target = "redis-server (pid 14)", StartMs = 2001.5, EndMs = 3120,
            NewRedisPid = 99, LostByInstance = new Dictionary<string, long> { ["http://127.0.0.1:1"] = 0, ["http://127.0.0.1:2"] = 7 },
            LostMessages = new Dictionary<string, string> { ["http://127.0.0.1:2"] = "90 at 2250 ms on 7 streams" },
            Reconnects = 3, ReconnectCauses = new Dictionary<string, int> { ["the server ended the stream"] = 3 }, Resets = 0,
            RecoverMs = 420, StreamsCounted = 20, StreamsOpenAtEnd = 20,
        };
        var report = new LoadReport
        {
            RunId = "r1", Urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"], Clients = 20, StreamsOpen = 20, StreamsFailed = 0, StreamsDropped = 0,
            StreamErrors = [], TargetRate = 40, Seconds = 6, PayloadBytes = 0, MessagesScheduled = 240, PostsAccepted = 200, PostsFailed = 40,
            PostErrors = new Dictionary<string, int> { ["HTTP 503"] = 38, ["timeout"] = 2 }, AchievedRate = 40, Expected = 4000, Delivered = 3993, Lost = 7, Duplicates = 0, Unexpected = 1,
            DeliveriesPerSecond = 600, LatencyMaxMs = 1500, OpenNotices = 0, OpenSeconds = 1, SettleSeconds = 1, PostingSeconds = 6, DrainSeconds = 8, Processes = [],
            DriverCpuMs = 5, Fault = fault, Ok = false,
        };

        var json = report.ToJson();
        var back = LoadReport.FromJson(json)!.Fault!;
        var table = report.ToTable();

        Assert.Contains("\"fault\":{\"kind\":\"redis-restart\"", json, StringComparison.Ordinal);
        Assert.Equal(7, back.LostByInstance["http://127.0.0.1:2"]);
        Assert.Equal((2001.5, 3120.0, 420.0), (back.StartMs!.Value, back.EndMs!.Value, back.RecoverMs!.Value));
        Assert.Contains("acknowledged | 200; refused 40 (38 x HTTP 503, 2 x timeout)", table, StringComparison.Ordinal);
        Assert.Contains("2001.5 -> 3120 ms into posting; redis-server's new pid 99", table, StringComparison.Ordinal);
        Assert.Contains("7 (http://127.0.0.1:1 0, http://127.0.0.1:2 7)", table, StringComparison.Ordinal);
        Assert.Contains("420 ms after the fault ended; max latency 1500 ms", table, StringComparison.Ordinal);
        Assert.Contains("lost msgs    | http://127.0.0.1:2: 90 at 2250 ms on 7 streams", table, StringComparison.Ordinal);
        Assert.Equal("90 at 2250 ms on 7 streams", back.LostMessages["http://127.0.0.1:2"]);
    }
}
