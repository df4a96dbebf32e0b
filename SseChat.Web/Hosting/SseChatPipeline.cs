using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;
using SseChat.Web.Streaming;

namespace SseChat.Web.Hosting;

/// <summary>The chat's middleware and endpoints that are its own; Program.cs puts them in order.</summary>
public static class SseChatPipeline
{
    /// <summary>
    /// One handler for every environment: errors are readable, never a stack trace. A stream's path is left out: a
    /// stream answers its errors in plain text itself (<see cref="EventsEndpoint"/>), and lives long, so it must not
    /// wait inside these middleware (the exception handler would keep a suspended frame per open stream).
    /// </summary>
    public static WebApplication UseSseChatErrorHandling(this WebApplication app)
    {
        app.UseWhen(context => !EventsEndpoint.IsStreamPath(context.Request.Path), pages => pages
            .UseExceptionHandler(new ExceptionHandlerOptions
            {
                StatusCodeSelector = ErrorResponses.StatusFor,
                ExceptionHandler = ErrorResponses.HandleExceptionAsync,
            })
            .UseStatusCodePages(context => ErrorResponses.WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode,
                ErrorResponses.MessageFor(context.HttpContext.Response.StatusCode, context.HttpContext))));
        return app;
    }

    /// <summary>
    /// Reads a posted form before anything else does, so that a body over the limit (announced or chunked) or a
    /// malformed form is answered 413/400 with a readable message. Left to the antiforgery check, a form it cannot read
    /// would be reported as a stale form instead.
    /// </summary>
    public static WebApplication UseSseChatRequestBodyGuard(this WebApplication app)
    {
        app.Use(GuardRequestBodies);
        return app;
    }

    /// <summary>
    /// <c>GET /events</c> and <c>GET /rooms/{room}/events</c>, run as soon as routing has found them
    /// (<c>ShortCircuit</c>): the middleware after routing (post limits, authentication, authorization, the body
    /// guard) would each stay suspended for a stream's whole life, and none applies to a stream. The stream limits are
    /// taken by the endpoint (<see cref="StreamLimits"/>); its services come from the application, so a stream makes
    /// no request scope.
    /// </summary>
    public static WebApplication MapSseChatStreams(this WebApplication app)
    {
        var sessions = app.Services.GetRequiredService<StreamSessionFactory>();
        var limits = app.Services.GetRequiredService<StreamLimits>();
        RequestDelegate stream = context => EventsEndpoint.HandleAsync(context, sessions, limits);
        app.MapGet("/events", stream).ShortCircuit();
        app.MapGet($"/rooms/{{{RoomPaths.RouteParameter}}}/events", stream).ShortCircuit();
        return app;
    }

    // Not async unless it reads a form: a request it lets through (a stream, for its whole life) holds nothing here.
    private static Task GuardRequestBodies(HttpContext context, RequestDelegate next)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<ChatOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                ErrorResponses.MessageFor(StatusCodes.Status413PayloadTooLarge, context));
        }

        return HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType
            ? ReadFormFirstAsync(context, next)
            : next(context);
    }

    private static async Task ReadFormFirstAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await ErrorResponses.WriteAsync(context, ex.StatusCode, ErrorResponses.MessageFor(ex.StatusCode, context)).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // Malformed multipart (no or broken boundaries), too many fields, a value over the length limit.
            await ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorResponses.UnreadableForm).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }
}
