using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;

namespace SseChat.Web.Pages;

/// <summary>
/// <c>GET /history</c> (the lobby) and <c>GET /rooms/{room}/history</c>: the recent messages as list items, for a page
/// whose resume point left the log.
/// </summary>
public sealed class HistoryModel(IChatBus bus, FragmentRenderer renderer, IOptions<ChatOptions> options) : PageModel
{
    public IReadOnlyList<string> History { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (!RoomPaths.TryFromRoute(HttpContext, out var paths, out var invalidRoom))
        {
            return new ErrorPageResult(StatusCodes.Status404NotFound, invalidRoom);
        }

        try
        {
            var recent = await bus.ReadRecentAsync(paths.Room, options.Value.HistorySize, cancellationToken);
            History = recent.Select(renderer.Render).ToArray();
            return Page();
        }
        catch (BusUnavailableException)
        {
            ErrorResponses.SetRetryAfter(Response, StatusCodes.Status503ServiceUnavailable);
            return StatusCode(StatusCodes.Status503ServiceUnavailable, ErrorResponses.StoreUnreachable);
        }
    }
}
