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

    /// <summary>Posts at the same rate this long before the measured window (JIT, pools, caches); not counted.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.Zero;

    /// <summary>Targets other than loopback are refused unless this is set.</summary>
    public bool AllowRemote { get; init; }

    /// <summary>Marks this run's messages; streams ignore messages of other runs. Random when not given.</summary>
    public string? RunId { get; init; }

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
          --open-timeout S        every stream must deliver its first event within this (default 120)
          --settle-timeout S      bound for the presence updates to die down before posting (default 60)
          --open-concurrency N    streams being opened at once (default 64)
          --post-connections N    connections per instance for POSTs (default 256)
          --run-id ID             marks this run's messages (letters and digits; default random)
          --allow-remote          allow targets other than loopback

        Prints a table and, as its last line, one JSON object. Exit code 0: nothing lost or duplicated,
        every stream stayed open and every POST was accepted; 1: otherwise; 2: bad arguments or setup failure.
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
            Warmup = Duration(values, "warmup", 0),
            OpenTimeout = Duration(values, "open-timeout", 120),
            SettleTimeout = Duration(values, "settle-timeout", 60),
            OpenConcurrency = Int(values, "open-concurrency", 64, 1, 100_000),
            PostConnections = Int(values, "post-connections", 256, 1, 100_000),
            RunId = values.TryGetValue("run-id", out var run) ? run : null,
            AllowRemote = allowRemote,
        };
        options.Validate();
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
    }

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "urls", "clients", "rate", "seconds", "payload", "pids", "drain", "hold", "warmup", "open-timeout", "settle-timeout",
        "open-concurrency", "post-connections", "run-id",
    };

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
