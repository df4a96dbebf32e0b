using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Pages;

public sealed class IndexModel(IChatBus bus, FragmentRenderer renderer, IOptions<ChatOptions> options) : PageModel
{
    /// <summary>The recent messages, already rendered (encoded) by the same renderer the stream uses.</summary>
    public IReadOnlyList<string> History { get; private set; } = [];

    public bool HistoryUnavailable { get; private set; }

    /// <summary>The id the page's stream resumes after: the last message shown (0-0, everything, for an empty log).</summary>
    public string ResumeAfter { get; private set; } = "0-0";

    public NickForm NickForm { get; private set; } = new(null, null);

    public MessageForm MessageForm { get; } = MessageForm.Fresh();

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        NickForm = new NickForm(Nickname.GetOrAssign(HttpContext), null);
        try
        {
            var recent = await bus.ReadRecentAsync(ChatOptions.Lobby, Math.Max(1, options.Value.HistorySize), cancellationToken);
            History = recent.TakeLast(options.Value.HistorySize).Select(renderer.Render).ToArray();
            ResumeAfter = recent.Count > 0 ? recent[^1].Id! : "0-0";
        }
        catch (BusUnavailableException)
        {
            HistoryUnavailable = true;
        }
    }
}
