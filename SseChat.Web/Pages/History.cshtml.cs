using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Pages;

/// <summary><c>GET /history</c>: the recent messages as list items, for a page whose resume point left the log.</summary>
public sealed class HistoryModel(IChatBus bus, FragmentRenderer renderer, IOptions<ChatOptions> options) : PageModel
{
    public IReadOnlyList<string> History { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        try
        {
            var recent = await bus.ReadRecentAsync(ChatOptions.Lobby, options.Value.HistorySize, cancellationToken);
            History = recent.Select(renderer.Render).ToArray();
            return Page();
        }
        catch (BusUnavailableException ex)
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable, ex.Message);
        }
    }
}
