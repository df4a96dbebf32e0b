using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;

namespace SseChat.Web.Pages;

/// <summary>
/// <c>POST /messages</c> (the lobby) and <c>POST /rooms/{room}/messages</c>: validate, publish to the room's bus
/// channel, answer htmx with a fresh form or a plain post with 303 back to the room.
/// </summary>
[EnableRateLimiting(RequestLimits.PostsPolicy)]
public sealed class MessagesModel(IChatBus bus, IDeliveryLag lag, IOptions<ChatOptions> options, TimeProvider time, ChatMetrics metrics) : PageModel
{
    public MessageForm Form { get; private set; } = MessageForm.Fresh(RoomPaths.Lobby);

    public IActionResult OnGet() => Redirect(RoomPaths.TryFromRoute(HttpContext, out var paths, out _) ? paths.Page : "/");

    public async Task<IActionResult> OnPostAsync(string? text, string? cmid, CancellationToken cancellationToken)
    {
        // The room comes from the path only (RoomPaths reads the route value), never from a form field.
        if (!RoomPaths.TryFromRoute(HttpContext, out var paths, out var invalidRoom))
        {
            return new ErrorPageResult(StatusCodes.Status404NotFound, invalidRoom);
        }

        Form = MessageForm.Fresh(paths);
        var clientId = ClientMessageId.IsValid(cmid) ? cmid! : ClientMessageId.New();
        if (!Validation.TryValidateText(text, out var clean, out var error))
        {
            return Failure(StatusCodes.Status400BadRequest, error, text, clientId);
        }

        // An overloaded room: its messages already reach this instance's streams late, and would only get later.
        var maxLag = options.Value.MaxDeliveryLag;
        if (maxLag > TimeSpan.Zero && lag.InRoom(paths.Room) > maxLag)
        {
            metrics.RefusedBusy();
            return Failure(StatusCodes.Status503ServiceUnavailable, ErrorResponses.Busy, text, clientId);
        }

        var nick = Nickname.GetOrAssign(HttpContext);
        var author = BrowserId.AuthorTag(BrowserId.GetOrAssign(HttpContext));
        try
        {
            await bus.PublishMessageAsync(
                new ChatEvent(ChatEventKind.Message, paths.Room, nick, clean, time.GetUtcNow(), ClientMessageId: clientId, Author: author),
                cancellationToken);
            metrics.MessagePublished();
        }
        catch (BusUnavailableException)
        {
            return Failure(StatusCodes.Status503ServiceUnavailable, ErrorResponses.NotConfirmed, text, clientId);
        }

        if (Request.IsHtmx())
        {
            return Partial("_MessageForm", MessageForm.Fresh(paths));
        }

        return SeeOther(paths.Page);
    }

    /// <summary>
    /// htmx gets the error in the form's error slot and the form stays as it is (text kept); a plain post gets a
    /// page with the error and the form refilled, under the same client id so resending cannot duplicate.
    /// </summary>
    private IActionResult Failure(int status, string message, string? text, string clientId)
    {
        ErrorResponses.SetRetryAfter(Response, status);
        if (Request.IsHtmx())
        {
            return new ContentResult
            {
                StatusCode = status,
                ContentType = "text/html; charset=utf-8",
                Content = ErrorResponses.OutOfBandFragment("form-error", message),
            };
        }

        Form = Form with { Text = text, ClientMessageId = clientId, Error = message };
        Response.StatusCode = status;
        return Page();
    }

    private StatusCodeResult SeeOther(string location)
    {
        Response.Headers.Location = location;
        return StatusCode(StatusCodes.Status303SeeOther);
    }
}
