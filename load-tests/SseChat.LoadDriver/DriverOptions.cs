using System.Globalization;
using System.Net;

namespace SseChat.LoadDriver;

/// <summary>What one load run does: how many streams where, how many messages how fast, what to measure.</summary>
internal sealed record DriverOptions
{
    /// <summary>The longest text the chat accepts (Validation.MaxTextLength in the app).</summary>
    public const int MaxPayloadBytes = 2000;

    public required IReadOnlyList<Uri> Urls { get; init; }

    /// <summary>SSE streams to open, spread round-robin over <see cref="Urls"/>.</summary>
    public int Clients { get; init; } = 100;

    /// <summary>Messages per second, all instances together (0: only open streams and measure them).</summary>
    public double Rate { get; init; } = 10;

    /// <summary>How long to post for.</summary>
    public double Seconds { get; init; } = 10;

    /// <summary>Size of each message text in bytes (ASCII); at least the lt: marker itself.</summary>
    public int PayloadBytes { get; init; }

    /// <summary>Server processes (instances and redis-server) whose CPU time and RSS are read from /proc.</summary>
    public IReadOnlyList<int> Pids { get; init; } = [];

    /// <summary>How long to wait after the last POST for deliveries still on their way.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long every stream may take to deliver its first event.</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>How long the presence updates of a burst of opens may take to die down before posting starts.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Streams being opened at the same time.</summary>
    public int OpenConcurrency { get; init; } = 64;

    /// <summary>Connections per instance for the POSTs.</summary>
    public int PostConnections { get; init; } = 256;

    /// <summary>Keeps the streams open and idle this long after they settled, before posting (memory of idle streams).</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.Zero;

    /// <summary>Send each stream's request with the headers and cookies a browser sends (<c>--stream-headers browser</c>), not the bare minimum.</summary>
    public bool BrowserHeaders { get; init; }

    /// <summary>Posts at the same rate this long before the measured window (JIT, pools, caches); not counted.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.Zero;

    /// <summary>Targets other than loopback are refused unless this is set.</summary>
    public bool AllowRemote { get; init; }

    /// <summary>Marks this run's messages; streams ignore messages of other runs. Random when not given.</summary>
    public string? RunId { get; init; }

    /// <summary>Names the variant a run measured (e.g. "aof-always"), copied into the report for tables and charts.</summary>
    public string? Label { get; init; }

    /// <summary>A fault to cause while posting (null: a plain run). See <see cref="FaultKind"/>.</summary>
    public FaultKind? Fault { get; init; }

    /// <summary>When the fault starts, counted from the first measured POST.</summary>
    public TimeSpan FaultAt { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long Redis stays down or paused (not used by <see cref="FaultKind.InstanceKill"/>: that instance stays down).</summary>
    public TimeSpan FaultFor { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The instance <see cref="FaultKind.InstanceKill"/> kills: a 1-based index into <see cref="Urls"/>; null means the last.</summary>
    public int? FaultInstance { get; init; }

    /// <summary>
    /// The shell command that starts Redis again after <see cref="FaultKind.RedisRestart"/>, <see cref="FaultKind.RedisKill"/> or <see cref="FaultKind.PrimaryKill"/>
    /// (run with <c>exec</c> in the old process's working directory). redis-server rewrites its own
    /// <c>/proc/PID/cmdline</c> into a title, so the driver cannot read how it was started.
    /// </summary>
    public string? RedisStart { get; init; }

    /// <summary>The 0-based index of the instance <see cref="FaultKind.InstanceKill"/> kills.</summary>
    public int FaultInstanceIndex => (FaultInstance ?? Urls.Count) - 1;

    /// <summary>Messages the schedule posts: rate × seconds.</summary>
    public int MessageCount => (int)Math.Round(Rate * Seconds, MidpointRounding.AwayFromZero);

    public const string Usage = """
        Usage: SseChat.LoadDriver --urls http://127.0.0.1:5001,http://127.0.0.1:5002 [options]

          --urls URL[,URL...]     SseChat instances (loopback only unless --allow-remote)
          --clients N             SSE streams, spread round-robin over the urls (default 100)
          --rate R                messages per second, all instances together; 0 = streams only (default 10)
          --seconds S             how long to post (default 10)
          --payload BYTES         size of each message text, up to 2000 (default: just the lt: marker)
          --pids PID[,PID...]     server processes (instances, redis-server): CPU time and RSS from /proc
          --drain S               wait for late deliveries after the last POST (default 10)
          --warmup S              post at the same rate this long first, unmeasured (default 0)
          --hold S                keep the streams open and idle this long before posting (default 0)
          --stream-headers KIND   minimal (default: Host, Accept) or browser (what Chrome sends with an EventSource:
                                  user agent, client hints, fetch metadata, referer, languages, and three cookies)
          --open-timeout S        every stream must deliver its first event within this (default 120)
          --settle-timeout S      bound for the presence updates to die down before posting (default 60)
          --open-concurrency N    streams being opened at once (default 64)
          --post-connections N    connections per instance for POSTs (default 256)
          --run-id ID             marks this run's messages (letters and digits; default random)
          --label TEXT            names the variant measured, copied into the report (for tables and charts)
          --allow-remote          allow targets other than loopback

        Faults (each stream then reconnects like a browser: Last-Event-ID, next URL, 100 ms to 1 s backoff):
          --fault KIND            redis-restart (SIGTERM, down for --fault-for, start again), redis-kill (the
                                  same with SIGKILL), redis-pause (SIGSTOP for --fault-for, then SIGCONT),
                                  instance-kill (SIGKILL one instance; it stays down), primary-kill
                                  (SIGKILL the Redis primary --pids names, on a cluster or with Sentinel: its
                                  replica takes over; started again after --fault-for, it rejoins as a replica)
          --fault-at S            seconds into the measured posting phase (default 5)
          --fault-for S           how long Redis stays down or paused (default 3)
          --fault-instance N      which --urls entry instance-kill kills, 1-based (default the last)
          --redis-start CMD       shell command that starts Redis again (redis-restart, redis-kill, primary-kill);
                                  run-local.sh fills it in
          With --fault, --pids lists one pid per URL (same order), then redis-server's pid.

        Prints a table and, as its last line, one JSON object. Exit code 0: nothing lost or duplicated,
        every stream stayed open and every POST was accepted (with --fault: refused POSTs are allowed, every
        acknowledged one must reach every stream once and every stream must be open at the end);
        1: otherwise; 2: bad arguments or setup failure.
        """;

    /// <summary>Parses <c>--name value</c> and <c>--name=value</c> arguments.</summary>
    /// <exception cref="ArgumentException">an argument is unknown, missing or out of range.</exception>
    public static DriverOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var allowRemote = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'.");
            }

            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (name == "allow-remote")
            {
                allowRemote = value is null || bool.Parse(value);
                continue;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"--{name} needs a value.");
                }

                value = args[++i];
            }

            if (!Known.Contains(name))
            {
                throw new ArgumentException($"Unknown option --{name}.");
            }

            values[name] = value;
        }

        if (!values.TryGetValue("urls", out var urls))
        {
            throw new ArgumentException("--urls is required.");
        }

        var options = new DriverOptions
        {
            Urls = ParseUrls(urls, allowRemote),
            Clients = Int(values, "clients", 100, 1, 1_000_000),
            Rate = Number(values, "rate", 10, 0, 1_000_000),
            Seconds = Number(values, "seconds", 10, 0, 86_400),
            PayloadBytes = Int(values, "payload", 0, 0, MaxPayloadBytes),
            Pids = values.TryGetValue("pids", out var pids) ? ParsePids(pids) : [],
            Drain = Duration(values, "drain", 10),
            Hold = Duration(values, "hold", 0),
            BrowserHeaders = values.TryGetValue("stream-headers", out var headers) && headers switch
            {
                "browser" => true,
                "minimal" => false,
                _ => throw new ArgumentException($"--stream-headers must be minimal or browser, not {headers}."),
            },
            Warmup = Duration(values, "warmup", 0),
            OpenTimeout = Duration(values, "open-timeout", 120),
            SettleTimeout = Duration(values, "settle-timeout", 60),
            OpenConcurrency = Int(values, "open-concurrency", 64, 1, 100_000),
            PostConnections = Int(values, "post-connections", 256, 1, 100_000),
            RunId = values.TryGetValue("run-id", out var run) ? run : null,
            Label = values.TryGetValue("label", out var label) ? label : null,
            AllowRemote = allowRemote,
            Fault = values.TryGetValue("fault", out var fault) ? FaultKinds.Parse(fault) : null,
            FaultAt = Duration(values, "fault-at", 5),
            FaultFor = Duration(values, "fault-for", 3),
            FaultInstance = values.ContainsKey("fault-instance") ? Int(values, "fault-instance", 0, 1, 1_000_000) : null,
            RedisStart = values.TryGetValue("redis-start", out var redisStart) ? redisStart : null,
        };
        if (options.Fault is null && FaultOnly.FirstOrDefault(values.ContainsKey) is { } orphan)
        {
            throw new ArgumentException($"--{orphan} needs --fault.");
        }

        options.Validate();
        if (options.Fault is FaultKind.RedisRestart or FaultKind.RedisKill or FaultKind.PrimaryKill && string.IsNullOrWhiteSpace(options.RedisStart))
        {
            // Only the command line needs it: a caller in code may bring its own IFaultTarget.
            throw new ArgumentException(
                $"--fault {FaultKinds.Name(options.Fault.Value)} needs --redis-start CMD (how to start Redis again): redis-server " +
                "rewrites its /proc/PID/cmdline, so the driver cannot read it. run-local.sh passes it.");
        }

        return options;
    }

    /// <exception cref="ArgumentException">the options cannot make a run.</exception>
    public void Validate()
    {
        if (Urls.Count == 0)
        {
            throw new ArgumentException("--urls needs at least one URL.");
        }

        if (!AllowRemote && Urls.FirstOrDefault(u => !IsLoopback(u)) is { } remote)
        {
            throw new ArgumentException($"{remote} is not a loopback address; pass --allow-remote to load another host.");
        }

        if (RunId is not null && (RunId.Length is 0 or > 16 || !RunId.All(char.IsAsciiLetterOrDigit)))
        {
            throw new ArgumentException("--run-id takes 1-16 letters and digits.");
        }

        if (Clients < 1 || OpenConcurrency < 1 || PostConnections < 1)
        {
            throw new ArgumentException("--clients, --open-concurrency and --post-connections must be at least 1.");
        }

        if (Rate < 0 || Seconds < 0 || PayloadBytes is < 0 or > MaxPayloadBytes)
        {
            throw new ArgumentException($"--rate and --seconds must not be negative; --payload is 0-{MaxPayloadBytes}.");
        }

        if (Fault is { } fault)
        {
            ValidateFault(fault);
        }
    }

    private void ValidateFault(FaultKind fault)
    {
        var name = FaultKinds.Name(fault);
        if (Pids.Count != Urls.Count + 1)
        {
            throw new ArgumentException(
                $"--fault needs --pids with one pid per --urls entry (in the same order) and then redis-server's pid: " +
                $"{Urls.Count + 1} pids for {Urls.Count} URL(s), not {Pids.Count}.");
        }

        if (Rate <= 0 || MessageCount == 0)
        {
            throw new ArgumentException("--fault needs messages to lose: --rate and --seconds above 0.");
        }

        if (FaultAt < TimeSpan.Zero || FaultFor < TimeSpan.Zero)
        {
            throw new ArgumentException("--fault-at and --fault-for must not be negative.");
        }

        if (fault == FaultKind.InstanceKill)
        {
            if (Urls.Count < 2)
            {
                throw new ArgumentException("--fault instance-kill needs at least 2 URLs: the killed instance's streams reconnect to the others.");
            }

            if (FaultInstance is { } n && (n < 1 || n > Urls.Count))
            {
                throw new ArgumentException($"--fault-instance is an index into --urls, 1 to {Urls.Count}, not {n}.");
            }

            if (FaultAt.TotalSeconds >= Seconds)
            {
                throw new ArgumentException($"--fault-at ({FaultAt.TotalSeconds:0.###} s) must fall within the posting phase (--seconds {Seconds:0.###}).");
            }

            return;
        }

        if (FaultInstance is not null)
        {
            throw new ArgumentException($"--fault-instance only goes with --fault instance-kill, not {name}.");
        }

        if ((FaultAt + FaultFor).TotalSeconds >= Seconds)
        {
            throw new ArgumentException(
                $"--fault {name} must end while posting goes on, so that messages posted after it show the recovery: " +
                $"--fault-at {FaultAt.TotalSeconds:0.###} + --fault-for {FaultFor.TotalSeconds:0.###} must be below --seconds {Seconds:0.###}.");
        }
    }

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "urls", "clients", "rate", "seconds", "payload", "pids", "drain", "hold", "stream-headers", "warmup", "open-timeout", "settle-timeout",
        "open-concurrency", "post-connections", "run-id", "label", "fault", "fault-at", "fault-for", "fault-instance", "redis-start",
    };

    private static readonly string[] FaultOnly = ["fault-at", "fault-for", "fault-instance", "redis-start"];

    private static List<Uri> ParseUrls(string value, bool allowRemote)
    {
        var urls = new List<Uri>();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"'{part}' is not an http(s) URL.");
            }

            if (!allowRemote && !IsLoopback(uri))
            {
                throw new ArgumentException($"{uri} is not a loopback address; pass --allow-remote to load another host.");
            }

            urls.Add(uri);
        }

        return urls;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static List<int> ParsePids(string value) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
                ? pid
                : throw new ArgumentException($"'{p}' is not a process id."))];

    private static int Int(Dictionary<string, string> values, string name, int fallback, int min, int max)
    {
        var value = Number(values, name, fallback, min, max);
        return value == Math.Floor(value)
            ? (int)value
            : throw new ArgumentException($"--{name} takes a whole number from {min} to {max}, not '{values[name]}'.");
    }

    private static double Number(Dictionary<string, string> values, string name, double fallback, double min, double max)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"--{name} takes a number from {min} to {max}, not '{text}'.");
    }

    private static TimeSpan Duration(Dictionary<string, string> values, string name, double fallback) =>
        TimeSpan.FromSeconds(Number(values, name, fallback, 0, 86_400));
}
