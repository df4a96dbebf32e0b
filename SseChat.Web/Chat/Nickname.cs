using System.Security.Cryptography;

namespace SseChat.Web.Chat;

/// <summary>The nickname a browser chose, kept in a cookie; until it chooses one, a stable "guest-xxxx".</summary>
public static class Nickname
{
    public const string CookieName = "ssechat-nick";

    private const string GuestAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    /// <summary>The valid nickname in the request's cookie, or null (absent or tampered with).</summary>
    public static string? Read(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var raw) && Validation.TryValidateNick(raw, out var nick, out _) ? nick : null;

    /// <summary>The request's nickname; a new guest name, remembered in a cookie, when it has none.</summary>
    public static string GetOrAssign(HttpContext context)
    {
        if (Read(context.Request) is { } nick)
        {
            return nick;
        }

        var guest = NewGuest();
        Remember(context, guest);
        return guest;
    }

    public static void Remember(HttpContext context, string nick) => ChatCookies.Append(context, CookieName, nick);

    public static string NewGuest() => "guest-" + RandomNumberGenerator.GetString(GuestAlphabet, 4);
}
