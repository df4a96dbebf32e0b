using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Pages;

/// <summary><c>POST /nick</c>: choose the nickname kept in the cookie.</summary>
[EnableRateLimiting(RequestLimits.PostsPolicy)]
public sealed class NickModel : PageModel
{
    public NickForm Form { get; private set; } = new(null, null);

    public IActionResult OnGet() => Redirect("/");

    public IActionResult OnPost(string? nick)
    {
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

            Form = new NickForm(nick, error);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        Nickname.Remember(HttpContext, clean);
        if (Request.IsHtmx())
        {
            return Partial("_NickForm", new NickForm(clean, null));
        }

        Response.Headers.Location = "/";
        return StatusCode(StatusCodes.Status303SeeOther);
    }
}
