using System.Net.Mime;
using Microsoft.AspNetCore.Http.Features;
using SseChat.Web.Bus;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// The whole life of one SSE stream, from the moment it joins its room's fan-out until it is gone. Opened by
/// <see cref="StreamSessionFactory.OpenAsync"/> (live messages wait for it from then on), run once, and disposed with
/// <c>await using</c>: the disposal removes it from the room, counts it closed, lets presence count the person out and
/// releases the room, exactly once, whatever ended it.
/// </summary>
/// <remarks>
/// Before it goes live, a stream is sent, in this order: the hello (which carries the <c>retry:</c> hint and gets the
/// headers out), the messages logged after its resume point (or a <c>reset</c> when they fell out of the log), and the
/// room's list of people (its own "joined" notice brings it, or the list alone for someone already in the room). Its
/// <see cref="SseWriter"/> writes all of these and so knows what the client has seen: live copies of them are dropped.
/// </remarks>
internal sealed class StreamSession : IAsyncDisposable
{
    private const int ReplayPage = 500;

    private readonly StreamSessionFactory _services;
    private readonly RoomFanOut _room;
    private readonly Member _member;
    private readonly LogId? _resumeAfter;
    private readonly SseWriter _writer;
    private LogRead? _replay;
    private bool _opened;
    private bool _entered;
    private int _disposed;

    private StreamSession(StreamSessionFactory services, RoomFanOut room, Member member, LogId? resumeAfter, int capacity)
    {
        _services = services;
        _room = room;
        _member = member;
        _resumeAfter = resumeAfter;
        _writer = new SseWriter(capacity);
    }

    /// <summary>
    /// Joins the room (subscribing this instance to it if needed) and reads the first page of the replay; the session is
    /// disposed again when that fails.
    /// </summary>
    /// <exception cref="BusUnavailableException">the room could not be subscribed to, or its log read.</exception>
    internal static async Task<StreamSession> OpenAsync(
        StreamSessionFactory services, RoomFanOut room, Member member, LogId? resumeAfter, int capacity, CancellationToken cancellationToken)
    {
        var session = new StreamSession(services, room, member, resumeAfter, capacity);
        try
        {
            await room.EnsureSubscribedAsync(cancellationToken).ConfigureAwait(false);
            // Live messages wait for the stream from here on; the replay covers everything before, and the writer drops
            // what both have.
            room.Add(session._writer);
            services.Metrics.StreamOpened();
            session._opened = true;
            if (resumeAfter is { } after)
            {
                session._replay = await services.Bus.ReadAfterAsync(room.Room, after, ReplayPage, cancellationToken).ConfigureAwait(false);
            }

            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends the stream until it ends: the client goes away, the instance stops, the client falls too far behind, or a
    /// later replay page cannot be read (the client resumes from the last id it got).
    /// </summary>
    public async Task RunAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = $"{MediaTypeNames.Text.EventStream}; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        // A shutdown ends the stream through its queue, or cuts it when stuck (see StreamShutdown): no token of its own.
        var stop = context.RequestAborted;
        try
        {
            await response.StartAsync(stop).ConfigureAwait(false);
            var output = response.BodyWriter;
            _writer.WritePreamble(output, _services.Frames.Hello);
            if (_replay is not null)
            {
                await ReplayAsync(output, _replay, stop).ConfigureAwait(false);
            }

            await output.FlushAsync(stop).ConfigureAwait(false);
            var entry = await _services.Presence.EnterAsync(_room.Room, _member, stop).ConfigureAwait(false);
            _entered = true;
            // The person's own "joined" notice brings the list, through the room like everyone else's copy (at once, or
            // with the others that came within the room's coalescing window): older notices are not sent. Someone
            // already in the room (another tab) gets the list now, and then only newer changes.
            _writer.WritePreamble(output, entry switch
            {
                { Announced: true } => SseFrame.SeenThrough(presenceVersion: entry.Version - 1),
                { Snapshot: { } snapshot } => _services.Frames.PresenceList(snapshot),
                _ => SseFrame.SeenThrough(),
            });
            await _writer.RunAsync(output, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested || _writer.Overflowed)
        {
            // The client went away, the instance is stopping, or the client fell too far behind: a normal end.
        }
        catch (BusUnavailableException)
        {
            // A later replay page failed: end the stream; the client resumes from the last id it got.
        }

        if (_writer.Overflowed)
        {
            _services.Metrics.SlowClientDisconnected();
            StreamingLog.SlowClientCut(_services.Logger, _member.Nick);
        }

        // A stream cut off (too far behind, or at a shutdown that could not wait for it) is dropped, not finished: its
        // client may read nothing, and the end of the response would wait for it.
        if (_writer.Overflowed || _writer.Aborted)
        {
            context.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _room.Remove(_writer);
        // Only a stream that was counted open is counted closed (the subscription may fail before).
        if (_opened)
        {
            _services.Metrics.StreamClosed();
        }

        // Not tied to the request: it is over, and presence must still count it out.
        if (_entered)
        {
            await _services.Presence.LeaveAsync(_room.Room, _member).ConfigureAwait(false);
        }

        _services.Rooms.Release(_room);
    }

    private async Task ReplayAsync(System.IO.Pipelines.PipeWriter output, LogRead first, CancellationToken cancellationToken)
    {
        if (first.Truncated)
        {
            // Messages after the resume point were trimmed from the log: the page reloads its history instead. It asks
            // once it has the reset, so the reload holds every message logged by now; live copies of those (published
            // before the stream joined the room, still on their way) would show twice.
            var newest = await _services.Bus.ReadRecentAsync(_room.Room, 1, cancellationToken).ConfigureAwait(false);
            _writer.WritePreamble(output, SseFrames.Reset(newest.Count > 0 ? newest[0].Id : null));
            return;
        }

        var page = first;
        while (true)
        {
            foreach (var e in page.Events)
            {
                _writer.WritePreamble(output, _services.Frames.Message(e));
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (page.Events.Count < ReplayPage)
            {
                return;
            }

            page = await _services.Bus.ReadAfterAsync(_room.Room, page.Events[^1].Id!.Value, ReplayPage, cancellationToken).ConfigureAwait(false);
        }
    }
}
