namespace SseChat.Web.Chat;

/// <summary>The one way this app sets its long-lived browser cookies (nickname, browser id).</summary>
internal static class ChatCookies
{
    /// <summary>Sets a cookie unless the response has started (a stream, say): then the browser keeps what it had.</summary>
    public static void Append(HttpContext context, string name, string value)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Cookies.Append(name, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps,
            IsEssential = true,
            MaxAge = TimeSpan.FromDays(365),
            Path = "/",
        });
    }
}
