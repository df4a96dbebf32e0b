using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Pages;

/// <summary>A room's page: <c>/</c> for the lobby, <c>/rooms/{room}</c> for any other.</summary>
public sealed class IndexModel(IChatBus bus, IPresence presence, FragmentRenderer renderer, IOptions<ChatOptions> options) : PageModel
{
    public RoomPaths Paths { get; private set; } = RoomPaths.Lobby;

    /// <summary>The recent messages, already rendered (encoded) by the same renderer the stream uses.</summary>
    public IReadOnlyList<string> History { get; private set; } = [];

    public bool HistoryUnavailable { get; private set; }

    /// <summary>The id the page's stream resumes after: the last message shown (0-0, everything, for an empty log).</summary>
    public string ResumeAfter { get; private set; } = "0-0";

    /// <summary>This browser's public tag: the page marks the messages and the person that carry it as its own.</summary>
    public string Me { get; private set; } = "";

    /// <summary>The list of people, rendered by the renderer whose output the stream swaps in later.</summary>
    public string PresenceHtml { get; private set; } = "";

    public RoomList Rooms { get; private set; } = RoomList.Of(ChatOptions.Lobby, []);

    public NickForm NickForm { get; private set; } = new(null, null, ChatOptions.Lobby);

    public MessageForm MessageForm { get; private set; } = MessageForm.Fresh(RoomPaths.Lobby);

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (!RoomPaths.TryFromRoute(HttpContext, out var paths, out var error))
        {
            return new ErrorPageResult(StatusCodes.Status404NotFound, error);
        }

        Paths = paths;
        Me = BrowserId.AuthorTag(BrowserId.GetOrAssign(HttpContext));
        NickForm = new NickForm(Nickname.GetOrAssign(HttpContext), null, paths.Room);
        MessageForm = MessageForm.Fresh(paths);
        try
        {
            var recent = await bus.ReadRecentAsync(paths.Room, Math.Max(1, options.Value.HistorySize), cancellationToken);
            History = recent.TakeLast(options.Value.HistorySize).Select(renderer.Render).ToArray();
            ResumeAfter = recent.Count > 0 ? recent[^1].Id!.Value.ToString() : "0-0";
        }
        catch (BusUnavailableException)
        {
            HistoryUnavailable = true;
        }

        // Presence is shown as well as it can be; the stream brings the current list as soon as it is open.
        var snapshot = PresenceSnapshot.Empty;
        try
        {
            snapshot = await presence.ReadAsync(paths.Room, cancellationToken);
            Rooms = RoomList.Of(paths.Room, await presence.RoomsAsync(RoomList.MaxRooms, cancellationToken));
        }
        catch (BusUnavailableException)
        {
            Rooms = RoomList.Of(paths.Room, [], unavailable: true);
        }

        PresenceHtml = renderer.RenderPresence(snapshot, outOfBand: false);
        return Page();
    }
}
