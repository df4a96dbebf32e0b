using System.Diagnostics.Metrics;

namespace SseChat.Web.Hosting;

/// <summary>
/// The app's instruments (System.Diagnostics.Metrics), exported by OpenTelemetry on <c>/metrics</c>. Recording is
/// cheap enough for the fan-out path: one call per event per instance, never one per stream.
/// </summary>
public sealed class ChatMetrics
{
    public const string MeterName = "SseChat";

    private readonly UpDownCounter<long> _openStreams;
    private readonly Counter<long> _published;
    private readonly Counter<long> _delivered;
    private readonly Histogram<double> _fanOut;
    private readonly Counter<long> _slowDisconnects;
    private readonly Counter<long> _busFailures;
    private readonly Counter<long> _busReconnects;
    private readonly Counter<long> _busyRefusals;
    private readonly Counter<long> _roomPauses;
    private readonly Counter<long> _rateRefusals;

    public ChatMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _openStreams = meter.CreateUpDownCounter<long>("ssechat.streams.open", "{stream}", "SSE streams open on this instance.");
        _published = meter.CreateCounter<long>("ssechat.messages.published", "{message}", "Messages this instance accepted and published.");
        _delivered = meter.CreateCounter<long>("ssechat.messages.delivered", "{message}", "Frames queued to streams (one per stream per event).");
        _fanOut = meter.CreateHistogram<double>("ssechat.fanout.duration", "ms", "Time to render, encode and queue one event for every stream of its room.");
        _slowDisconnects = meter.CreateCounter<long>("ssechat.streams.slow_disconnects", "{stream}", "Streams cut off because their client fell too far behind.");
        _busFailures = meter.CreateCounter<long>("ssechat.bus.failures", "{failure}", "Bus operations that failed after retries.");
        _busReconnects = meter.CreateCounter<long>("ssechat.bus.reconnects", "{reconnect}", "Times the Redis connection came back.");
        _busyRefusals = meter.CreateCounter<long>("ssechat.messages.refused_busy", "{message}", "Posts refused with 503 \"Busy\": the room's delivery on this instance was too far behind, or the room was paused.");
        _roomPauses = meter.CreateCounter<long>("ssechat.rooms.paused", "{pause}",
            "Times this instance paused a room on every instance because several of its streams here were cut for falling behind (recorded: whether Redis took the pause).");
        _rateRefusals = meter.CreateCounter<long>("ssechat.posts.refused_rate", "{post}", "Posts refused with 429 by the post limits (limit: address or person).");
    }

    public void StreamOpened() => _openStreams.Add(1);

    public void StreamClosed() => _openStreams.Add(-1);

    public void MessagePublished() => _published.Add(1);

    public void FannedOut(int streams, TimeSpan elapsed)
    {
        _delivered.Add(streams);
        _fanOut.Record(elapsed.TotalMilliseconds);
    }

    /// <summary>A stream cut off as too slow: its queue was full (reason "queue") or it took nothing for the stall bound ("stall").</summary>
    public void SlowClientDisconnected(bool stalled) =>
        _slowDisconnects.Add(1, new KeyValuePair<string, object?>("reason", stalled ? "stall" : "queue"));

    public void BusFailed(string operation) => _busFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void BusReconnected() => _busReconnects.Add(1);

    public void RefusedBusy() => _busyRefusals.Add(1);

    /// <summary>This instance paused a room for every instance (<paramref name="recorded"/>), or could not record the pause and refuses the room's posts alone.</summary>
    public void RoomPaused(bool recorded) => _roomPauses.Add(1, new KeyValuePair<string, object?>("recorded", recorded));

    public void RefusedRate(string limit) => _rateRefusals.Add(1, new KeyValuePair<string, object?>("limit", limit));
}
