using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// <c>GET /events</c> (the lobby) and <c>GET /rooms/{room}/events</c>: the room's live stream. A client that says
/// where it stopped (the <c>Last-Event-ID</c> header, as browsers send it on reconnect, or a <c>lastEventId</c> query
/// parameter) first gets exactly the messages logged after that id, then live ones, with no gap and no duplicate.
/// The stream counts for presence (<see cref="IPresence"/>): the person's first stream announces "joined", the end of
/// their last "left"; from its start the stream carries the room's list of people and then every change to it.
/// </summary>
internal static partial class EventsEndpoint
{
    public const string ResumeQueryParameter = "lastEventId";
    private const int ReplayPage = 500;

    public static async Task HandleAsync(
        HttpContext context,
        RoomHubs hubs,
        IChatBus bus,
        FragmentRenderer renderer,
        IOptions<ChatOptions> options,
        StreamShutdown shutdown,
        IPresence presence,
        ChatMetrics metrics,
        ILogger<StreamConnection> logger)
    {
        var settings = options.Value;
        if (!RoomPaths.TryFromRoute(context, out var paths, out var invalidRoom))
        {
            await RefuseAsync(context, StatusCodes.Status404NotFound, invalidRoom).ConfigureAwait(false);
            return;
        }

        var room = paths.Room;
        if (shutdown.IsStopping)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "This instance is shutting down; reconnect to another.").ConfigureAwait(false);
            return;
        }

        if (!TryGetResumePoint(context.Request, out var resumeAfter))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest,
                "Last-Event-ID is not an id this chat gave out (expected e.g. 1764234300000-0).").ConfigureAwait(false);
            return;
        }

        var member = Member.From(context.Request);
        var hub = hubs.Acquire(room);
        var connection = new StreamConnection(settings.StreamQueueCapacity);
        LogRead? replay = null;
        var opened = false;
        try
        {
            await hub.EnsureSubscribedAsync(context.RequestAborted).ConfigureAwait(false);
            // Live messages wait for the stream from here on; the replay below covers everything before, and the
            // stream's writer drops what both have.
            hub.Add(connection);
            metrics.StreamOpened();
            opened = true;
            if (resumeAfter is { } after)
            {
                replay = await bus.ReadAfterAsync(room, after, ReplayPage, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (BusUnavailableException ex)
        {
            hub.Remove(connection);
            hubs.Release(hub);
            // Only a stream that was counted open is counted closed (the subscription may fail before).
            if (opened)
            {
                metrics.StreamClosed();
            }

            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away before its stream started.
            hub.Remove(connection);
            hubs.Release(hub);
            if (opened)
            {
                metrics.StreamClosed();
            }

            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        // A shutdown ends the stream through its queue (see StreamShutdown); only a stuck one is cut.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdown.HardStop);
        var entered = false;
        try
        {
            await response.StartAsync(stop.Token).ConfigureAwait(false);
            response.BodyWriter.Write(await SseFrames.ControlAsync("ping", "", settings.ReconnectDelay).ConfigureAwait(false));
            if (replay is not null)
            {
                await ReplayAsync(bus, renderer, connection, response, room, resumeAfter!.Value, replay, stop.Token).ConfigureAwait(false);
            }

            await response.BodyWriter.FlushAsync(stop.Token).ConfigureAwait(false);
            var entry = await presence.EnterAsync(room, member, stop.Token).ConfigureAwait(false);
            entered = true;
            if (entry.Announced)
            {
                // The person's own "joined" notice brings the list, through the queue, like everyone else's copy
                // (at once, or with the others that came within the room's coalescing window).
                connection.SkipPresenceThrough(entry.Version - 1);
            }
            else if (entry.Snapshot is { } snapshot)
            {
                // Already in the room (another tab): this stream gets the list now, and then only newer changes.
                response.BodyWriter.Write(await SseFrames.FragmentAsync(renderer.RenderPresence(snapshot, outOfBand: true), null).ConfigureAwait(false));
                connection.SkipPresenceThrough(snapshot.Version);
            }

            await connection.RunAsync(response.BodyWriter, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested || connection.Overflowed)
        {
            // The client went away, the instance is stopping, or the client fell too far behind: a normal end.
        }
        catch (BusUnavailableException)
        {
            // A later replay page failed: end the stream; the client resumes from the last id it got.
        }
        finally
        {
            hub.Remove(connection);
            metrics.StreamClosed();
            if (connection.Overflowed)
            {
                metrics.SlowClientDisconnected();
                SlowClientCut(logger, member.Nick);
                context.Abort();
            }

            // Not tied to the request: it is over, and presence must still count it out.
            if (entered)
            {
                await presence.LeaveAsync(room, member).ConfigureAwait(false);
            }

            hubs.Release(hub);
        }
    }

    /// <summary>A stream's path (the lobby's or a room's): errors there are plain text, never the HTML error page.</summary>
    public static bool IsStreamPath(PathString path) =>
        path.StartsWithSegments("/events") || (path.StartsWithSegments("/rooms") && path.Value!.EndsWith("/events", StringComparison.Ordinal));

    /// <summary>The header wins over the query parameter: it is what the client had when it reconnected.</summary>
    internal static bool TryGetResumePoint(HttpRequest request, out LogId? after)
    {
        after = null;
        string? raw = request.Headers["Last-Event-ID"];
        if (string.IsNullOrEmpty(raw))
        {
            raw = request.Query[ResumeQueryParameter];
        }

        if (string.IsNullOrEmpty(raw))
        {
            return true;
        }

        if (!LogId.TryParse(raw, out var id))
        {
            return false;
        }

        after = id;
        return true;
    }

    private static async Task ReplayAsync(
        IChatBus bus, FragmentRenderer renderer, StreamConnection connection, HttpResponse response,
        string room, LogId after, LogRead first, CancellationToken cancellationToken)
    {
        if (first.Truncated)
        {
            // Messages after that id were trimmed from the log: the page reloads its history instead. It asks once
            // it has the reset, so the reload holds every message logged by now; live copies of those (published
            // before the stream joined the room, still on their way) would show twice.
            var newest = await bus.ReadRecentAsync(room, 1, cancellationToken).ConfigureAwait(false);
            if (newest.Count > 0)
            {
                connection.SkipMessagesThrough(LogId.ParseOrDefault(newest[0].Id));
            }

            response.BodyWriter.Write(await SseFrames.ControlAsync("reset", "history").ConfigureAwait(false));
            return;
        }

        var page = first;
        var cursor = after;
        while (true)
        {
            foreach (var e in page.Events)
            {
                cursor = LogId.ParseOrDefault(e.Id);
                connection.WriteReplayed(response.BodyWriter, await SseFrames.FragmentAsync(renderer.Render(e), e.Id).ConfigureAwait(false), cursor);
            }

            await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (page.Events.Count < ReplayPage)
            {
                return;
            }

            page = await bus.ReadAfterAsync(room, cursor, ReplayPage, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "2";
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stream of {Nick} fell too far behind and was cut off; it resumes on reconnect.")]
    private static partial void SlowClientCut(ILogger logger, string nick);
}
