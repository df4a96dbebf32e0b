using System.Security.Cryptography;
using System.Text;

namespace SseChat.Web.Chat;

/// <summary>
/// A random id per browser, kept in a cookie: what presence counts (several tabs are one person, whatever the
/// nickname says) and what marks a reader's own messages. The id itself never leaves the server; pages see only its
/// <see cref="AuthorTag"/>.
/// </summary>
public static class BrowserId
{
    public const string CookieName = "ssechat-id";

    /// <summary>128 random bits as base64url: 22 characters.</summary>
    private const int Length = 22;

    /// <summary>The valid id in the request's cookie, or null (absent or tampered with).</summary>
    public static string? Read(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var raw) && IsValid(raw) ? raw : null;

    /// <summary>The request's browser id; a new one, remembered in a cookie, when it has none.</summary>
    public static string GetOrAssign(HttpContext context)
    {
        if (Read(context.Request) is { } id)
        {
            return id;
        }

        var fresh = New();
        ChatCookies.Append(context, CookieName, fresh);
        return fresh;
    }

    public static string New() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Base64url of the right length only: the id becomes part of Redis hash fields and set members.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: Length } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// The public face of a browser id, shown in pages (<c>data-author</c>) so a page can tell its own messages and
    /// itself in the list of people. A one-way hash: knowing the tag does not let anyone present themselves as that
    /// browser.
    /// </summary>
    public static string AuthorTag(string id) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("ssechat-author:" + id)), 0, 8);
}
