using System.Net.Mime;
using Microsoft.AspNetCore.Http.Features;
using SseChat.Web.Bus;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// The whole life of one SSE stream, from the moment it joins its room's fan-out until it is gone, in one method
/// (<see cref="ServeAsync"/>): it opens the stream (live messages wait for it from then on), sends it, and then removes
/// it from the room, counts it closed, lets presence count the person out, releases the room and gives back the
/// stream's permits, exactly once, whatever ended it.
/// </summary>
/// <remarks>
/// <para>Before it goes live, a stream is sent, in this order: the hello (which carries the <c>retry:</c> hint and gets the
/// headers out), the messages logged after its resume point (or a <c>reset</c> when they fell out of the log), and the
/// room's list of people (its own "joined" notice brings it, or the list alone for someone already in the room). Its
/// <see cref="SseWriter"/> writes all of these and so knows what the client has seen: live copies of them are dropped.</para>
/// <para>An idle stream is suspended in <see cref="ServeAsync"/> alone, awaiting its writer's end: the request handler
/// returns this method's task and the writer's loop is awaited here in parts, so no further frame per layer is kept.</para>
/// </remarks>
internal sealed class StreamSession
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

    private StreamSession(StreamSessionFactory services, RoomFanOut room, Member member, LogId? resumeAfter, int capacity)
    {
        _services = services;
        _room = room;
        _member = member;
        _resumeAfter = resumeAfter;
        _writer = new SseWriter(capacity);
    }

    /// <summary>
    /// Serves one stream until it ends: the client goes away, the instance stops, the client falls too far behind, or a
    /// later replay page cannot be read (the client resumes from the last id it got). A stream that cannot start (its
    /// room cannot be subscribed to, or its replay read) is answered 503.
    /// </summary>
    /// <param name="permit">The stream's share of the stream limits, given back when it ends.</param>
    internal static Task ServeAsync(
        StreamSessionFactory services, RoomFanOut room, Member member, LogId? resumeAfter, int capacity, HttpContext context, StreamLimits.Permit permit) =>
        new StreamSession(services, room, member, resumeAfter, capacity).RunAsync(context, permit);

    // The one frame an idle stream keeps: what it holds across the wait is the request, the permit and the token.
    private async Task RunAsync(HttpContext context, StreamLimits.Permit permit)
    {
        // A shutdown ends the stream through its queue, or cuts it when stuck (see StreamShutdown): no token of its own.
        var stop = context.RequestAborted;
        try
        {
            if (!await TryOpenAsync(context, stop).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                await StartAsync(context, stop).ConfigureAwait(false);
                await _writer.Ended.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || _writer.Overflowed)
            {
                // The client went away, the instance is stopping, or the client fell too far behind: a normal end.
            }
            catch (BusUnavailableException)
            {
                // A later replay page failed: end the stream; the client resumes from the last id it got.
            }
            finally
            {
                await _writer.EndAsync().ConfigureAwait(false);
            }

            if (_writer.Overflowed)
            {
                _services.Metrics.SlowClientDisconnected(_writer.Stalled);
                if (_writer.Stalled)
                {
                    StreamingLog.StalledClientCut(_services.Logger, _member.Nick);
                }
                else
                {
                    StreamingLog.SlowClientCut(_services.Logger, _member.Nick, _writer.Capacity);
                }
            }

            // A stream cut off (too far behind, or at a shutdown that could not wait for it) is dropped, not finished: its
            // client may read nothing, and the end of the response would wait for it.
            if (_writer.Overflowed || _writer.Aborted)
            {
                context.Abort();
            }

            // After the connection is dropped: pausing the room may wait for Redis.
            if (_writer.Overflowed && !_writer.Stalled)
            {
                await _services.Rooms.NoteSlowReaderCutAsync(_room).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            await EventsEndpoint.FailAsync(context, _services.Logger, ex).ConfigureAwait(false);
        }
        finally
        {
            await LeaveAsync().ConfigureAwait(false);
            permit.Dispose();
        }
    }

    /// <summary>Opens the stream (see <see cref="OpenAsync"/>); false when it cannot start, answered 503 if the store is unreachable.</summary>
    private async Task<bool> TryOpenAsync(HttpContext context, CancellationToken stop)
    {
        try
        {
            await OpenAsync(stop).ConfigureAwait(false);
            return true;
        }
        catch (BusUnavailableException)
        {
            await EventsEndpoint.RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorResponses.StoreUnreachable).ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false; // the client went away before its stream started
        }
    }

    /// <summary>Sends the headers and the preamble, then lets the writer go live.</summary>
    private async Task StartAsync(HttpContext context, CancellationToken stop)
    {
        EventsEndpoint.ReleaseRequestHeaders(context);
        var response = context.Response;
        response.ContentType = $"{MediaTypeNames.Text.EventStream}; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
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
        // The person's own "joined" notice brings the list, through the room like everyone else's copy (at once, or with
        // the others that came within the room's coalescing window): older notices are not sent. Someone already in the
        // room (another tab) gets the list now, and then only newer changes.
        _writer.WritePreamble(output, entry switch
        {
            { Announced: true } => SseFrame.SeenThrough(presenceVersion: entry.Version - 1),
            { Snapshot: { } snapshot } => _services.Frames.PresenceList(snapshot),
            _ => SseFrame.SeenThrough(),
        });
        // Live frames go straight onto an HTTP/1.1 connection as chunks, once the response holds nothing back.
        await output.FlushAsync(stop).ConfigureAwait(false);
        var connection = ChunkedConnection.Output(context);
        _writer.GoLive(connection ?? output, stop, chunks: connection is not null);
    }

    /// <summary>Joins the room (subscribing this instance to it if needed) and reads the first page of the replay.</summary>
    /// <exception cref="BusUnavailableException">the room could not be subscribed to, or its log read.</exception>
    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        await _room.EnsureSubscribedAsync(cancellationToken).ConfigureAwait(false);
        // Live messages wait for the stream from here on; the replay covers everything before, and the writer drops
        // what both have.
        _room.Add(_writer);
        _services.Metrics.StreamOpened();
        _opened = true;
        if (_resumeAfter is { } after)
        {
            _replay = await _services.Bus.ReadAfterAsync(_room.Room, after, ReplayPage, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Everything the stream took, given back once, whether it went live or not.</summary>
    private async Task LeaveAsync()
    {
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
