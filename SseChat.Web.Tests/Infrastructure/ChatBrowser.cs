using System.Net;
using AngleSharp;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>The page as AngleSharp parsed it, with what a form post needs from it, and the instance that served it.</summary>
public sealed record ChatPage(IDocument Document, string AntiforgeryToken, string ClientMessageId, HttpStatusCode Status, string? Instance = null);

public static class ResponseInstance
{
    /// <summary>The instance that answered (its X-SseChat-Instance header), or null.</summary>
    public static string? Instance(this HttpResponseMessage response) =>
        response.Headers.TryGetValues(SseChat.Web.Hosting.InstanceHeader.HeaderName, out var values) ? values.Single() : null;
}

/// <summary>
/// What a browser does with HTTP, without the JavaScript: one cookie jar (cookies ignore ports, so it is shared by
/// every instance on 127.0.0.1, as a browser behind one balancer would share it), GET the page, POST the forms.
/// </summary>
public sealed class ChatBrowser : IDisposable
{
    private readonly CookieContainer _cookies = new();
    private readonly Dictionary<Uri, HttpClient> _clients = [];
    private readonly Func<Uri, HttpMessageHandler>? _handlerFactory;

    public ChatBrowser(Func<Uri, HttpMessageHandler>? handlerFactory = null) => _handlerFactory = handlerFactory;

    public CookieContainer Cookies => _cookies;

    public HttpClient Client(Uri baseAddress)
    {
        if (!_clients.TryGetValue(baseAddress, out var client))
        {
            HttpMessageHandler handler = _handlerFactory is null
                ? new SocketsHttpHandler { CookieContainer = _cookies, AllowAutoRedirect = false }
                : _handlerFactory(baseAddress);
            client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Wait.Default };
            _clients[baseAddress] = client;
        }

        return client;
    }

    public async Task<ChatPage> GetPageAsync(Uri baseAddress, string path = "/")
    {
        using var response = await Client(baseAddress).GetAsync(path);
        return await ReadPageAsync(response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A page as a browser reads it: parsed as HTML, with the message form's token and client message id.</summary>
    public static async Task<ChatPage> ReadPageAsync(HttpResponseMessage response, string html)
    {
        ArgumentNullException.ThrowIfNull(response);
        var document = await Parse(html);
        var token = document.QuerySelector<IHtmlInputElement>("#send input[name=__RequestVerificationToken]")?.Value ?? "";
        var cmid = document.QuerySelector<IHtmlInputElement>("#send input[name=cmid]")?.Value ?? "";
        return new ChatPage(document, token, cmid, response.StatusCode, response.Instance());
    }

    /// <summary>Posts the page's message form where the form says (its room's path), as a browser would.</summary>
    public Task<HttpResponseMessage> PostMessageAsync(Uri baseAddress, ChatPage page, string text, bool htmx = true, string? cmid = null) =>
        PostFormAsync(baseAddress, page.Document.QuerySelector("form#send")?.GetAttribute("action") ?? "/messages", htmx, new()
        {
            ["text"] = text,
            ["cmid"] = cmid ?? page.ClientMessageId,
            ["__RequestVerificationToken"] = page.AntiforgeryToken,
        });

    public async Task<HttpResponseMessage> PostFormAsync(Uri baseAddress, string path, bool htmx, Dictionary<string, string> fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        if (htmx)
        {
            request.Headers.Add("HX-Request", "true");
        }

        return await Client(baseAddress).SendAsync(request);
    }

    public static Task<IDocument> Parse(string html) =>
        BrowsingContext.New(Configuration.Default).OpenAsync(req => req.Content(html));

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }
}
