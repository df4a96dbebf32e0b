using Microsoft.AspNetCore.Http.Features;
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

    /// <summary>The answer to a stream that could not start for an unexpected reason (logged).</summary>
    public const string StreamFailed = "The stream could not start: something went wrong on the server. Reconnect in a moment.";

    private static readonly IRequestCookieCollection NoCookies = new DefaultHttpContext().Request.Cookies;

    /// <summary>
    /// Checks the request and hands the stream to its <see cref="StreamSession"/>. Not async: the session's task is the
    /// request's, so an open stream holds no frame of this method.
    /// </summary>
    public static Task HandleAsync(HttpContext context, StreamSessionFactory sessions, StreamLimits limits)
    {
        try
        {
            return Serve(context, sessions, limits);
        }
        catch (Exception ex)
        {
            return FailAsync(context, sessions.Logger, ex);
        }
    }

    private static Task Serve(HttpContext context, StreamSessionFactory sessions, StreamLimits limits)
    {
        if (!RoomPaths.TryFromRoute(context, out var paths, out var invalidRoom))
        {
            return RefuseAsync(context, StatusCodes.Status404NotFound, invalidRoom);
        }

        if (sessions.IsStopping)
        {
            return RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "This instance is shutting down; reconnect to another.");
        }

        if (!TryGetResumePoint(context.Request, out var resumeAfter))
        {
            return RefuseAsync(context, StatusCodes.Status400BadRequest,
                "Last-Event-ID is not an id this chat gave out (expected e.g. 1764234300000-0).");
        }

        var member = Member.From(context.Request);
        if (!limits.TryAcquire(context, out var permit))
        {
            return RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, StreamLimits.TooManyStreams);
        }

        try
        {
            return sessions.ServeAsync(context, paths.Room, member, resumeAfter, permit);
        }
        catch
        {
            permit.Dispose(); // from here on the session gives it back
            throw;
        }
    }

    /// <summary>
    /// Everything the stream needs from its request is read by now (the room, the resume point, the person's cookies);
    /// the request's headers and the cookies parsed from them would otherwise stay for the stream's whole life (a browser
    /// sends one to two kilobytes of them, held as UTF-16 strings, and the parsed cookies again). The request keeps its
    /// cookies feature cached, so the feature is emptied as well as removed; Kestrel gives the header values back on
    /// <c>Clear</c> because it does not keep them for reuse (<c>DisableStringReuse</c>, set in
    /// <c>AddSseChatServerLimits</c>). Nothing here enumerates the headers: that would make Kestrel cache an
    /// enumerator for the connection.
    /// </summary>
    internal static void ReleaseRequestHeaders(HttpContext context)
    {
        if (context.Features.Get<IRequestCookiesFeature>() is { } cookies)
        {
            cookies.Cookies = NoCookies;
            context.Features.Set<IRequestCookiesFeature>(null); // and the features' list does not grow for it
        }

        context.Request.Headers.Clear();
    }

    /// <summary>A stream's path (the lobby's or a room's): errors there are plain text, never the HTML error page.</summary>
    public static bool IsStreamPath(PathString path) =>
        path.StartsWithSegments("/events") || (path.StartsWithSegments("/rooms") && path.Value!.EndsWith("/events", StringComparison.Ordinal));

    /// <summary>The header wins over the query parameter: it is what the client had when it reconnected.</summary>
    internal static bool TryGetResumePoint(HttpRequest request, out LogId? after)
    {
        after = null;
        string? raw = request.Headers["Last-Event-ID"];
        if (string.IsNullOrEmpty(raw) && request.QueryString.HasValue)
        {
            raw = request.Query[ResumeQueryParameter]; // only when there is a query: parsing one is kept for the stream's life
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

    /// <summary>
    /// What the exception handler does for pages, for a stream (which runs outside it): an unexpected error before the
    /// stream started is logged and answered with its status and a readable line. After the start there is nothing to
    /// answer: the exception goes on to Kestrel, which logs it and drops the connection.
    /// </summary>
    internal static Task FailAsync(HttpContext context, ILogger logger, Exception exception)
    {
        if (context.Response.HasStarted)
        {
            return Task.FromException(exception);
        }

        StreamingLog.StreamFailed(logger, exception);
        var status = ErrorResponses.StatusFor(exception);
        return RefuseAsync(context, status, status >= StatusCodes.Status500InternalServerError
            ? StreamFailed
            : ErrorResponses.MessageFor(status, context));
    }

    internal static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        ErrorResponses.SetRetryAfter(context.Response, status);
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
    }
}
