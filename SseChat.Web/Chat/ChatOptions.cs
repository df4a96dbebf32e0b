using System.ComponentModel.DataAnnotations;

namespace SseChat.Web.Chat;

/// <summary>Settings of the chat itself, bound from the "Chat" section and validated at start.</summary>
public sealed class ChatOptions
{
    public const string SectionName = "Chat";

    /// <summary>The room everyone lands in.</summary>
    public const string Lobby = "lobby";

    /// <summary>How many recent messages a freshly opened page shows.</summary>
    [Range(0, 1000, ErrorMessage = "Chat:HistorySize must be between {1} and {2}.")]
    public int HistorySize { get; set; } = 50;

    /// <summary>How many messages each room's log keeps (approximately: Redis trims in whole nodes).</summary>
    [Range(100, 10_000_000, ErrorMessage = "Chat:LogMaxLength must be between {1} and {2}.")]
    public int LogMaxLength { get; set; } = 10_000;

    /// <summary>How often an idle SSE stream gets a <c>ping</c> event, so proxies and clients see it alive.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "Chat:HeartbeatInterval must be between {1} and {2}.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>retry:</c> hint sent to SSE clients: how long to wait before reconnecting.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Chat:ReconnectDelay must be between {1} and {2}.")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Frames one SSE stream may have waiting; a client further behind is disconnected (it resumes on reconnect). A
    /// count, not a time, because the room's log (<see cref="LogMaxLength"/>) is counted in messages too: a stream cut
    /// this few frames behind can still be replayed from the log after the reconnect delay, even in a room at thousands
    /// of messages a second. A time bound (5 s, tried) cut fewer streams there, but ones the log no longer covered.
    /// </summary>
    [Range(16, 1_000_000, ErrorMessage = "Chat:StreamQueueCapacity must be between {1} and {2}.")]
    public int StreamQueueCapacity { get; set; } = 1024;

    /// <summary>
    /// From how many streams on one instance a room gathers frames: a smaller room writes each frame to each stream at
    /// once; a room this large or larger holds each frame for <see cref="StreamFlushDelay"/> and writes everything that
    /// arrived meanwhile to each stream in one write, one <c>send()</c>, which is most of what a delivery costs.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Chat:StreamGatherFrom must be between {1} and {2}.")]
    public int StreamGatherFrom { get; set; } = 250;

    /// <summary>
    /// How long a large room (see <see cref="StreamGatherFrom"/>) gathers frames before writing them: long enough for a
    /// busy room to put several messages in one write (each write costs the server a <c>send()</c> and the client a
    /// read), short enough to stay well inside a chat's latency budget. Zero writes every frame at once, in every room.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "Chat:StreamFlushDelay must be between {1} and {2}.")]
    public TimeSpan StreamFlushDelay { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// Whether Kestrel sends a response's bytes to its socket on the thread that flushed them (its socket transport's
    /// <c>UnsafePreferInlineScheduling</c>) instead of handing each flush to one of its I/O queues. A fan-out then
    /// finishes each stream's send before the next, so the 4 KiB buffers of a room's streams are not all in flight
    /// at once, and Kestrel's pool does not keep thousands of them afterwards. "Unsafe" because request code then runs
    /// on the thread that completed the socket operation: on Linux a thread-pool thread, as without it, and the chat's
    /// request paths await their I/O.
    /// </summary>
    public bool InlineSends { get; set; } = true;

    /// <summary>
    /// How far behind a room's delivery on an instance may be before that instance refuses new posts to the room (503
    /// "busy, send again"), so that an overload keeps the delay of what is delivered bounded instead of growing without
    /// end. Streams of the room cut there as too slow count as behind for this plus <see cref="ReconnectDelay"/>
    /// (see Streaming.RoomFanOut.NoteSlowReaderCut). Zero never refuses.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Chat:MaxDeliveryLag must be between {1} and {2}.")]
    public TimeSpan MaxDeliveryLag { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// At most how often the instance gives memory back after a burst (see Hosting.MemoryTrim): once quiet for 15 s with
    /// far more memory committed than in use, one aggressive collection, a short pause. Zero never does.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Chat:MemoryTrimInterval must be between {1} and {2}.")]
    public TimeSpan MemoryTrimInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The largest request body accepted on a POST, in bytes.</summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Chat:MaxRequestBodyBytes must be between {1} and {2}.")]
    public int MaxRequestBodyBytes { get; set; } = 32 * 1024;

    /// <summary>How long a stopping instance may take: streams are told to reconnect and ended, in-flight posts finish.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Chat:ShutdownTimeout must be between {1} and {2}.")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a client message id is remembered to recognise a repeated POST.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Chat:DuplicateWindow must be between {1} and {2}.")]
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long an instance's claim that it holds someone lasts unless renewed (it renews every third of this). When
    /// an instance dies, the others announce its people as left once this has run out: within about 1.25 times it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Chat:PresenceExpiry must be between {1} and {2}.")]
    public TimeSpan PresenceExpiry { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long after someone's last stream closed they are announced as left, unless a stream of theirs opens again
    /// meanwhile (a reload, a reconnect to another instance): so a reload is not "left" + "joined".
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Chat:PresenceLeaveGrace must be between {1} and {2}.")]
    public TimeSpan PresenceLeaveGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long an instance gathers a room's presence changes before it shows them: an isolated change goes out at
    /// once, further changes within this window go out together at its end, as one line and one list. So however
    /// many people come and go, each stream gets at most about one presence update per window. Zero sends each
    /// change as soon as the previous update has gone out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Chat:PresenceCoalesceWindow must be between {1} and {2}.")]
    public TimeSpan PresenceCoalesceWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most people a room's list shows (in display order); the rest are counted as "and N more".</summary>
    [Range(1, 10_000, ErrorMessage = "Chat:PresenceListLimit must be between {1} and {2}.")]
    public int PresenceListLimit { get; set; } = 100;
}
