using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;

namespace SseChat.Web.Pages;

/// <summary>
/// <c>POST /messages</c> (the lobby) and <c>POST /rooms/{room}/messages</c>: check the antiforgery token, validate,
/// publish to the room's bus channel, answer htmx with a fresh form or a plain post with 303 back to the room.
/// <c>GET</c> on the same paths goes back to the room's page.
/// <para>
/// A route handler, not a Razor Page: a post is the one request made for every message, and the page machinery around
/// a handler (page model, filter pipeline, model binding) was about a quarter of a post's CPU, which showed in the CPU
/// per delivery at light load (BENCHMARKS.md, "CPU at light load"). What it answers in HTML is still Razor: the
/// <c>_MessageForm</c> partial and the <c>_NotSent</c> view, rendered by MVC's own view results.
/// </para>
/// Its services are the application's, taken once when the endpoints are mapped (as the stream endpoint's are), not
/// looked up again for every post.
/// </summary>
internal sealed class MessagesEndpoint(
    IAntiforgery antiforgery, IChatBus bus, IDeliveryLag lag, IOptions<ChatOptions> options, TimeProvider time, ChatMetrics metrics,
    IModelMetadataProvider metadata)
{
    private const string FormView = "/Pages/Shared/_MessageForm.cshtml";
    private const string NotSentView = "/Pages/Shared/_NotSent.cshtml";

    public static WebApplication Map(WebApplication app)
    {
        var endpoint = ActivatorUtilities.CreateInstance<MessagesEndpoint>(app.Services);
        RequestDelegate post = endpoint.PostAsync;
        RequestDelegate back = BackToRoom;
        foreach (var pattern in (string[])["/messages", $"/rooms/{{{RoomPaths.RouteParameter}}}/messages"])
        {
            app.MapPost(pattern, post).WithMetadata(new LimitPostsPerPersonAttribute());
            app.MapGet(pattern, back);
        }

        return app;
    }

    private static Task BackToRoom(HttpContext context)
    {
        context.Response.Redirect(RoomPaths.TryFromRoute(context, out var paths, out _) ? paths.Page : "/");
        return Task.CompletedTask;
    }

    private async Task PostAsync(HttpContext context)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            await ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorResponses.StaleForm).ConfigureAwait(false);
            return;
        }

        // The room comes from the path only (RoomPaths reads the route value), never from a form field.
        if (!RoomPaths.TryFromRoute(context, out var paths, out var invalidRoom))
        {
            await ErrorResponses.WriteAsync(context, StatusCodes.Status404NotFound, invalidRoom).ConfigureAwait(false);
            return;
        }

        // The body guard (SseChatPipeline) has read a posted form already; a token sent in a header may come without one.
        var form = context.Request.HasFormContentType
            ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false)
            : FormCollection.Empty;
        var text = First(form, "text");
        var cmid = First(form, "cmid");
        var clientId = ClientMessageId.IsValid(cmid) ? cmid! : ClientMessageId.New();
        if (!Validation.TryValidateText(text, out var clean, out var error))
        {
            await FailAsync(context, paths, StatusCodes.Status400BadRequest, error, text, clientId).ConfigureAwait(false);
            return;
        }

        // An overloaded room: its messages already reach this instance's streams late, and would only get later.
        var maxLag = options.Value.MaxDeliveryLag;
        if (maxLag > TimeSpan.Zero && lag.IsBehind(paths.Room, maxLag))
        {
            await RefuseBusyAsync(context, paths, text, clientId).ConfigureAwait(false);
            return;
        }

        var nick = Nickname.GetOrAssign(context);
        var author = BrowserId.AuthorTag(BrowserId.GetOrAssign(context));
        try
        {
            await bus.PublishMessageAsync(
                new ChatEvent(ChatEventKind.Message, paths.Room, nick, clean, time.GetUtcNow(), ClientMessageId: clientId, Author: author),
                context.RequestAborted).ConfigureAwait(false);
            metrics.MessagePublished();
        }
        catch (RoomBusyException)
        {
            // Refused for the room on every instance: its readers fell behind together (RoomFanOutRegistry.NoteSlowReaderCutAsync).
            await RefuseBusyAsync(context, paths, text, clientId).ConfigureAwait(false);
            return;
        }
        catch (BusUnavailableException)
        {
            await FailAsync(context, paths, StatusCodes.Status503ServiceUnavailable, ErrorResponses.NotConfirmed, text, clientId).ConfigureAwait(false);
            return;
        }

        if (context.Request.IsHtmx())
        {
            await RenderAsync(context, new PartialViewResult { ViewName = FormView, ViewData = ViewData(MessageForm.Fresh(paths)) })
                .ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = paths.Page;
    }

    /// <summary>
    /// htmx gets the error in the form's error slot and the form stays as it is (text kept); a plain post gets a
    /// page with the error and the form refilled, under the same client id so resending cannot duplicate.
    /// </summary>
    private Task FailAsync(HttpContext context, RoomPaths paths, int status, string message, string? text, string clientId)
    {
        if (context.Request.IsHtmx())
        {
            return ErrorResponses.WriteAsync(context, status, message);
        }

        ErrorResponses.SetRetryAfter(context.Response, status);
        return RenderAsync(context, new ViewResult
        {
            ViewName = NotSentView,
            ViewData = ViewData(new MessageForm(text, clientId, message, paths)),
            StatusCode = status,
        });
    }

    /// <summary>A post to a room that is behind, here or on every instance: 503 "Busy", counted.</summary>
    private Task RefuseBusyAsync(HttpContext context, RoomPaths paths, string? text, string clientId)
    {
        metrics.RefusedBusy();
        return FailAsync(context, paths, StatusCodes.Status503ServiceUnavailable, ErrorResponses.Busy, text, clientId);
    }

    // Model binding took the first of repeated fields; so does this.
    private static string? First(IFormCollection form, string field) => form.TryGetValue(field, out var values) && values.Count > 0 ? values[0] : null;

    private ViewDataDictionary<MessageForm> ViewData(MessageForm form) => new(metadata, new ModelStateDictionary()) { Model = form };

    private static Task RenderAsync(HttpContext context, IActionResult result) =>
        result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
}
