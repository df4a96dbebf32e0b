using System.Net;
using System.Text.RegularExpressions;

namespace SseChat.LoadDriver;

/// <summary>
/// One instance as a publisher sees it: the antiforgery token of its message form and the cookies its page set.
/// Fetched once up front; the token stays valid for every POST (and, with the key ring in Redis, on every instance).
/// Cookies are sent by hand, so instances on one host (cookies ignore ports) never overwrite each other's.
/// </summary>
internal sealed partial class ChatInstance
{
    public const string PagePath = "/";
    public const string EventsPath = "events";
    public const string MessagesPath = "messages";
    public const string TokenField = "__RequestVerificationToken";

    private ChatInstance(Uri baseAddress, string token, string cookie)
    {
        BaseAddress = baseAddress;
        Token = token;
        Cookie = cookie;
        Events = new Uri(baseAddress, EventsPath);
        Messages = new Uri(baseAddress, MessagesPath);
    }

    public Uri BaseAddress { get; }

    public Uri Events { get; }

    public Uri Messages { get; }

    public string Token { get; }

    /// <summary>The Cookie header value: the antiforgery cookie and the nickname cookie the page set.</summary>
    public string Cookie { get; }

    /// <exception cref="InvalidOperationException">the page did not answer 200 or has no message form.</exception>
    public static async Task<ChatInstance> OpenAsync(HttpClient http, Uri baseAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseAddress);
        using var response = await http.GetAsync(new Uri(baseAddress, PagePath), cancellationToken);
        var html = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {baseAddress} answered {(int)response.StatusCode}.");
        }

        var (token, _) = ReadSendForm(html);
        var cookies = response.Headers.TryGetValues("Set-Cookie", out var setCookies)
            ? string.Join("; ", setCookies.Select(c => c.Split(';', 2)[0].Trim()))
            : "";
        if (!cookies.Contains("ssechat-af=", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"GET {baseAddress} set no antiforgery cookie (ssechat-af).");
        }

        return new ChatInstance(baseAddress, token, cookies);
    }

    /// <summary>The antiforgery token and the client message id of the page's message form (<c>form#send</c>).</summary>
    /// <exception cref="InvalidOperationException">the page has no such form or it lacks a field.</exception>
    public static (string Token, string ClientMessageId) ReadSendForm(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var form = SendForm().Match(html);
        if (!form.Success)
        {
            throw new InvalidOperationException("The page has no message form (form#send).");
        }

        return (InputValue(form.Value, TokenField), InputValue(form.Value, "cmid"));
    }

    public HttpRequestMessage NewPost(string text, string clientMessageId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Messages)
        {
            Content = new FormUrlEncodedContent(
            [
                new("text", text),
                new("cmid", clientMessageId),
                new(TokenField, Token),
            ]),
        };
        request.Headers.Add("HX-Request", "true");
        request.Headers.Add("Cookie", Cookie);
        return request;
    }

    private static string InputValue(string form, string name)
    {
        foreach (Match input in Input().Matches(form))
        {
            if (input.Value.Contains($"name=\"{name}\"", StringComparison.Ordinal))
            {
                var value = Value().Match(input.Value);
                if (value.Success)
                {
                    return WebUtility.HtmlDecode(value.Groups[1].Value);
                }
            }
        }

        throw new InvalidOperationException($"The message form has no {name} field.");
    }

    [GeneratedRegex("""<form[^>]*\bid="send"[^>]*>.*?</form>""", RegexOptions.Singleline)]
    private static partial Regex SendForm();

    [GeneratedRegex("<input[^>]*>")]
    private static partial Regex Input();

    [GeneratedRegex(@"\bvalue=""([^""]*)""")]
    private static partial Regex Value();
}
