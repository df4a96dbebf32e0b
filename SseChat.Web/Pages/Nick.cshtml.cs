using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Pages;

/// <summary><c>POST /nick</c>: choose the nickname kept in the cookie.</summary>
[LimitPostsPerPerson]
public sealed class NickModel(IPresence presence) : PageModel
{
    public NickForm Form { get; private set; } = new(null, null, ChatOptions.Lobby);

    public IActionResult OnGet() => Redirect("/");

    /// <param name="nick">The name chosen.</param>
    /// <param name="room">The room whose page the form was on: where a plain post goes back to.</param>
    /// <param name="cancellationToken">The request's.</param>
    public async Task<IActionResult> OnPostAsync(string? nick, string? room, CancellationToken cancellationToken)
    {
        var paths = Validation.TryValidateRoom(room, out var valid, out _) ? new RoomPaths(valid) : RoomPaths.Lobby;
        if (!Validation.TryValidateNick(nick, out var clean, out var error))
        {
            if (Request.IsHtmx())
            {
                return new ContentResult
                {
                    StatusCode = StatusCodes.Status400BadRequest,
                    ContentType = "text/html; charset=utf-8",
                    Content = ErrorResponses.OutOfBandFragment("nick-error", error),
                };
            }

            Form = new NickForm(nick, error, paths.Room);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        Nickname.Remember(HttpContext, clean);
        var id = BrowserId.GetOrAssign(HttpContext);
        try
        {
            // The room's list of people shows the new name at once (other rooms at their next stream).
            await presence.RenameAsync(paths.Room, new Member(id, clean, BrowserId.AuthorTag(id)), cancellationToken);
        }
        catch (BusUnavailableException)
        {
            // The name is saved in the cookie all the same; the list catches up with the next stream.
        }

        if (Request.IsHtmx())
        {
            return Partial("_NickForm", new NickForm(clean, null, paths.Room));
        }

        Response.Headers.Location = paths.Page;
        return StatusCode(StatusCodes.Status303SeeOther);
    }
}
