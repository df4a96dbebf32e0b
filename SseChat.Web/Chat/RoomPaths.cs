namespace SseChat.Web.Chat;

/// <summary>
/// Where a room's page, stream, form and history are. The lobby keeps the short paths it had before rooms existed
/// (<c>/</c>, <c>/events</c>, <c>/messages</c>, <c>/history</c>), so links, curl habits and k6 scripts stay valid;
/// every other room lives under <c>/rooms/{name}</c>. Names are validated, so they need no escaping.
/// </summary>
public sealed record RoomPaths(string Room)
{
    public const string RouteParameter = "room";

    public bool IsLobby => Room == ChatOptions.Lobby;

    public string Page => IsLobby ? "/" : $"/rooms/{Room}";

    public string Events => IsLobby ? "/events" : $"/rooms/{Room}/events";

    public string Messages => IsLobby ? "/messages" : $"/rooms/{Room}/messages";

    public string History => IsLobby ? "/history" : $"/rooms/{Room}/history";

    public static RoomPaths Lobby { get; } = new(ChatOptions.Lobby);

    /// <summary>
    /// The room a request is for: the validated <c>{room}</c> route value, or the lobby on a route without one.
    /// False (with the reason) for a name that is not a valid room name.
    /// </summary>
    public static bool TryFromRoute(HttpContext context, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RoomPaths? paths, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        paths = null;
        if (context.GetRouteValue(RouteParameter) is not string raw)
        {
            paths = Lobby;
            error = null;
            return true;
        }

        if (!Validation.TryValidateRoom(raw, out var room, out error))
        {
            return false;
        }

        paths = new RoomPaths(room);
        return true;
    }
}
