using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Hosting;
using SseChat.Web.Presence;

namespace SseChat.Web.Pages;

/// <summary>
/// <c>GET /rooms</c>: the rooms with people in them (a page; for htmx, the list items a room page refreshes);
/// <c>GET /rooms?name=x</c>: the "go to a room" form, answered with 303 to the room or 400 with the naming rule.
/// </summary>
public sealed class RoomsModel(IPresence presence) : PageModel
{
    public RoomList Rooms { get; private set; } = RoomList.Of(ChatOptions.Lobby, []);

    /// <param name="current">The room whose page asks for the list, to mark it.</param>
    /// <param name="cancellationToken">The request's.</param>
    public async Task<IActionResult> OnGetAsync(string? current, CancellationToken cancellationToken)
    {
        // Read raw: model binding would turn an empty name into "no name" and show the list instead of the rule.
        if (Request.Query.TryGetValue("name", out var name))
        {
            if (!Validation.TryValidateRoom(name.ToString().Trim(), out var room, out var error))
            {
                return new ErrorPageResult(StatusCodes.Status400BadRequest, error);
            }

            Response.Headers.Location = new RoomPaths(room).Page;
            return StatusCode(StatusCodes.Status303SeeOther);
        }

        var here = Validation.TryValidateRoom(current, out var valid, out _) ? valid : ChatOptions.Lobby;
        try
        {
            Rooms = RoomList.Of(here, await presence.RoomsAsync(RoomList.MaxRooms, cancellationToken));
        }
        catch (BusUnavailableException)
        {
            Rooms = RoomList.Of(here, [], unavailable: true);
        }

        return Request.IsHtmx() ? Partial("_RoomItems", Rooms) : Page();
    }
}
