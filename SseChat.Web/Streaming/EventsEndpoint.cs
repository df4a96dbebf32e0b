using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Streaming;

/// <summary>
/// <c>GET /events</c> (the lobby) and <c>GET /rooms/{room}/events</c>: the room's live stream. A client that says where it
/// stopped (the <c>Last-Event-ID</c> header, as browsers send it on reconnect, or a <c>lastEventId</c> query parameter)
/// first gets exactly the messages logged after that id, then live ones, with no gap and no duplicate. The stream
/// counts for presence: the person's first stream announces "joined", the end of their last "left"; from its start it
/// carries the room's list of people and then every change to it. The stream's life is a <see cref="StreamSession"/>.
/// </summary>
internal static class EventsEndpoint
{
    public const string ResumeQueryParameter = "lastEventId";

    public static async Task HandleAsync(HttpContext context, StreamSessionFactory sessions)
    {
        if (!RoomPaths.TryFromRoute(context, out var paths, out var invalidRoom))
        {
            await RefuseAsync(context, StatusCodes.Status404NotFound, invalidRoom).ConfigureAwait(false);
            return;
        }

        if (sessions.IsStopping)
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

        StreamSession session;
        try
        {
            session = await sessions.OpenAsync(paths.Room, Member.From(context.Request), resumeAfter, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BusUnavailableException)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorResponses.StoreUnreachable).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away before its stream started
        }

        ReleaseRequestHeaders(context);
        await using (session.ConfigureAwait(false))
        {
            await session.RunAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Everything the stream needs from its request is read by now (the room, the resume point, the person's cookies);
    /// the request's headers and the cookies parsed from them would otherwise stay for the stream's whole life (a browser
    /// sends one to two kilobytes of them, held as UTF-16 strings, and the parsed cookies again). Each header is emptied
    /// before the collection is cleared: Kestrel's <c>Clear</c> keeps the values of the headers it knows, to reuse them
    /// for the connection's next request.
    /// </summary>
    private static void ReleaseRequestHeaders(HttpContext context)
    {
        var headers = context.Request.Headers;
        foreach (var name in headers.Keys.ToArray())
        {
            headers[name] = StringValues.Empty;
        }

        headers.Clear();
        context.Features.Set<IRequestCookiesFeature>(null);
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

    private static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        ErrorResponses.SetRetryAfter(context.Response, status);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
    }
}
