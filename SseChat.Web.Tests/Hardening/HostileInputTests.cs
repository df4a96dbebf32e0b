using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AngleSharp.Dom;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>
/// A battery of over a thousand generated hostile requests against a running instance (a real process): markup and
/// script vectors in every field, invalid UTF-8, control characters, oversized fields and bodies, missing or forged
/// antiforgery tokens, odd content types and methods, absurd headers, path tricks. No answer may be a 5xx, and no
/// user-supplied markup may reach the page or a stream unencoded.
/// </summary>
public sealed class HostileInputTests
{
    private const string Marker = "pwn";

    private static readonly string[] Vectors =
    [
        $"<script>window.{Marker}=1</script>",
        $"\"><img src=x onerror=alert('{Marker}')>",
        $"'><svg/onload=alert('{Marker}')>",
        $"</p></li></ol><x-{Marker}>",
        $"<li data-kind=\"message\" data-id=\"0-0\"><b>{Marker}</b></li>",
        $"<a href=\"javascript:alert('{Marker}')\">x</a>",
        $"<iframe srcdoc=\"<script>{Marker}</script>\"></iframe>",
        $"<style>*{{display:none}}</style>{Marker}",
        $"<!-- {Marker} --><![CDATA[ ]]>",
        $"{{{{7*7}}}} ${{7*7}} <%= {Marker} %>",
        $"\u202e{Marker}\u202c",
        $"%3Cscript%3E{Marker}%3C/script%3E",
        $"&lt;script&gt;{Marker}&lt;/script&gt;",
        $"line\r\nSet-Cookie: {Marker}=1\r\n\r\n<h1>{Marker}</h1>",
        $"nul\0{Marker}",
        $"bell\u0007esc\u001b[31m{Marker}",
        $"data: injected\n\nevent: {Marker}\ndata: x",
        $"id: 99999999999999-0\nretry: 1\n{Marker}",
        new string('<', 3000),
        $"<x-{Marker} hx-get=\"/nick\" hx-trigger=\"load\">",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/html",
        "application/octet-stream",
        "",
        "application/x-www-form-urlencoded; boundary=\"<script>\"",
    ];

    private static readonly string[] Paths =
    [
        "/messages", "/nick", "/", "/events", "/history",
        "/messages/..", "/%2e%2e/messages", "/..%2f..%2fetc%2fpasswd", "/rooms/%3Cscript%3E", "/rooms/..%2F..",
        "/rooms/" + new string('a', 300), "/events?lastEventId=%3Cscript%3E", "/events?lastEventId=1-1&lastEventId=2-2",
        "/history?x=%3Cscript%3E", "/%00", "/messages%00.txt", "/Messages", "/index", "/nick?nick=%3Cscript%3E",
        "/rooms/battery/messages", "/rooms/battery/events", "/rooms/battery/history", "/rooms/Battery/messages",
        "/rooms?name=%3Cscript%3E", "/rooms?current=%22%3E%3Cscript%3E", "/rooms/%2e%2e/events",
    ];

    /// <summary>The random part of the battery: with the form posts and header probes, over a thousand requests.</summary>
    private const int RandomRequests = 540;

    /// <summary>The largest body the app takes (<c>Chat:MaxRequestBodyBytes</c>, left at its default here).</summary>
    private static readonly int MaxBody = new SseChat.Web.Chat.ChatOptions().MaxRequestBodyBytes;

    /// <summary>Every status the battery gets, and nothing else: it reaches the pages, the posts, the refusals and the redirects.</summary>
    private static readonly int[] ExpectedStatuses = [200, 302, 303, 400, 404, 405, 413, 414, 431];

    [Fact]
    public async Task A_thousand_hostile_requests_get_no_5xx_and_no_markup_gets_through_unencoded()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>());
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        var nickToken = page.Document.QuerySelector("#nick input[name=__RequestVerificationToken]")!.GetAttribute("value")!;
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await stream.WaitForAsync(e => e.EventType == "ping", "stream open");
        // For the generated requests: the browser's cookies, and a client without any. A client sending a body asks
        // first (Expect: 100-continue, as curl does) and waits for the server's verdict before sending it, so a body
        // the server refuses unread is never still on its way when the server closes the connection: every refusal
        // is read, not lost to a reset.
        using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = browser.Cookies, AllowAutoRedirect = false, Expect100ContinueTimeout = Wait.Default })
        { BaseAddress = app.BaseAddress, Timeout = Wait.Default };
        using var bare = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, Expect100ContinueTimeout = Wait.Default })
        { BaseAddress = app.BaseAddress, Timeout = Wait.Default };

        var random = new Random(20261127);
        var planned = Vectors.Length * (3 * 2 * 4 + 4) + RandomRequests + RawRequests().Count();
        var outcomes = new List<(string Request, Outcome Outcome, int? Expected)>();
        async Task Send(string what, Func<Task<HttpResponseMessage>> send, int? expected = null)
        {
            outcomes.Add((what, await OutcomeOfAsync(send), expected));
        }

        string Pick(string[] values) => values[random.Next(values.Length)];

        // Form posts: every field hostile in turn, with a valid, a forged or no token.
        foreach (var vector in Vectors)
        {
            foreach (var token in new[] { page.AntiforgeryToken, "forged", null })
            {
                foreach (var htmx in new[] { true, false })
                {
                    var fields = new Dictionary<string, string> { ["text"] = vector, ["cmid"] = Guid.NewGuid().ToString("N") };
                    if (token is not null)
                    {
                        fields["__RequestVerificationToken"] = token;
                    }

                    await Send($"POST /messages text={vector} token={token ?? "none"}", () => browser.PostFormAsync(app.BaseAddress, "/messages", htmx, fields));
                    await Send($"POST /messages cmid={vector}", () => browser.PostFormAsync(app.BaseAddress, "/messages", htmx,
                        new() { ["text"] = "ok", ["cmid"] = vector, ["__RequestVerificationToken"] = token ?? "" }));
                    await Send($"POST /nick nick={vector}", () => browser.PostFormAsync(app.BaseAddress, "/nick", htmx,
                        new() { ["nick"] = vector, ["__RequestVerificationToken"] = token is null ? "" : nickToken }));
                    await Send($"POST /messages token={vector}", () => browser.PostFormAsync(app.BaseAddress, "/messages", htmx,
                        new() { ["text"] = "ok", ["__RequestVerificationToken"] = vector }));
                }
            }

            // Hostile cookies, resume ids and forwarded headers.
            await Send($"GET / cookie nick={vector}", () => SendWith(bare, HttpMethod.Get, "/", r => r.Headers.TryAddWithoutValidation("Cookie", $"ssechat-nick={Uri.EscapeDataString(vector)}")));
            await Send($"GET /events Last-Event-ID={vector}", () => SendWith(bare, HttpMethod.Get, "/events", r => r.Headers.TryAddWithoutValidation("Last-Event-ID", Uri.EscapeDataString(vector)), HttpCompletionOption.ResponseHeadersRead));
            await Send($"GET /events?lastEventId={vector}", () => SendWith(bare, HttpMethod.Get, "/events?lastEventId=" + Uri.EscapeDataString(vector), null, HttpCompletionOption.ResponseHeadersRead));
            await Send($"GET / X-Forwarded-For={vector}", () => SendWith(bare, HttpMethod.Get, "/", r =>
            {
                r.Headers.TryAddWithoutValidation("X-Forwarded-For", Uri.EscapeDataString(vector));
                r.Headers.TryAddWithoutValidation("X-Forwarded-Proto", Uri.EscapeDataString(vector));
                r.Headers.TryAddWithoutValidation("HX-Request", Uri.EscapeDataString(vector));
            }));
        }

        // Odd content types, bodies that are not UTF-8 or too large, odd methods, path tricks: generated at random.
        byte[][] badBodies =
        [
            [0xff, 0xfe, 0x3c, 0x73],
            Encoding.ASCII.GetBytes("text=%C0%AF%ED%A0%80%FF").Concat(new byte[] { 0xc3, 0x28 }).ToArray(),
            Encoding.ASCII.GetBytes("text=" + new string('a', 40_000)),
            Encoding.ASCII.GetBytes(string.Join('&', Enumerable.Range(0, 500).Select(i => $"f{i}={i}"))),
            Encoding.ASCII.GetBytes("text=a&text=b&text=%3Cscript%3E&__RequestVerificationToken=x&__RequestVerificationToken=y"),
            Encoding.ASCII.GetBytes("--xyz\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n<script>\r\n--xyz--\r\n"),
            Encoding.ASCII.GetBytes("{\"text\":\"<script>\"}"),
            [],
        ];
        var methods = new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, HttpMethod.Head, HttpMethod.Get, new HttpMethod("PROPFIND") };
        for (var i = 0; i < RandomRequests; i++)
        {
            var method = methods[random.Next(methods.Length)];
            var path = Pick(Paths);
            var body = method == HttpMethod.Get || method == HttpMethod.Head ? null : badBodies[random.Next(badBodies.Length)];
            var contentType = Pick(ContentTypes);
            await Send($"{method} {path} ({contentType}, {body?.Length.ToString(CultureInfo.InvariantCulture) ?? "no"} body)", () => SendWith(random.Next(2) == 0 ? http : bare, method, path, r =>
            {
                if (body is not null)
                {
                    r.Content = new ByteArrayContent(body);
                    if (contentType.Length > 0)
                    {
                        r.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                    }

                    r.Headers.ExpectContinue = true;
                }

                r.Headers.TryAddWithoutValidation("HX-Request", random.Next(2) == 0 ? "true" : "<script>");
                // The server closes a connection after refusing a body it did not read; a pooled connection reused at
                // that moment would fail on the client's side. One connection per request keeps every answer readable.
                r.Headers.ConnectionClose = true;
            }, HttpCompletionOption.ResponseHeadersRead), RefusedUpFront(path, body));
        }

        // What no HttpClient would send: raw requests with broken header lines, huge headers, bare LF, non-ASCII bytes.
        // Kestrel answers each with a status before it closes the connection, even when it refuses the request line or
        // the headers: a connection closed without an answer is never right here.
        foreach (var (name, raw, expected) in RawRequests())
        {
            var (outcome, ending) = await SendRawAsync(app.Port, raw);
            outcomes.Add(($"raw {name}", outcome, expected));
            if (expected != 200)
            {
                Assert.True(ending == RawEnding.Closed, $"raw {name}: {outcome}, then the connection was {ending}, not closed");
            }
        }

        Assert.Equal(planned, outcomes.Count);
        var unanswered = outcomes.Where(o => o.Outcome.Status is null).ToArray();
        Assert.True(unanswered.Length == 0, $"{unanswered.Length} requests got no answer:\n" + string.Join('\n', unanswered.Take(20).Select(o => $"{o.Outcome} {o.Request}")));
        var wrong = outcomes.Where(o => o.Expected is { } expected && o.Outcome.Status != expected).ToArray();
        Assert.True(wrong.Length == 0, "Refusals that were not the expected answer:\n" + string.Join('\n', wrong.Take(20).Select(o => $"{o.Outcome}, not {o.Expected}: {o.Request}")));
        var serverErrors = outcomes.Where(o => o.Outcome.Status >= 500).ToArray();
        Assert.True(serverErrors.Length == 0, "5xx answers:\n" + string.Join('\n', serverErrors.Take(20).Select(o => $"{o.Outcome} {o.Request}")));
        Assert.Equal(ExpectedStatuses, outcomes.Select(o => o.Outcome.Status!.Value).Distinct().Order());

        // Whatever was accepted came back encoded: on the page and on the stream.
        using var marker = await browser.PostMessageAsync(app.BaseAddress, page, "end of battery");
        await stream.WaitForMessageAsync("end of battery", TimeSpan.FromSeconds(30));
        var reloaded = await browser.GetPageAsync(app.BaseAddress);
        AssertOnlyOurMarkup(reloaded.Document.QuerySelector("#messages")!.Children, "page");
        Assert.Equal(3, reloaded.Document.QuerySelectorAll("script").Length); // htmx, hx-sse, chat.js
        Assert.Equal(3, reloaded.Document.QuerySelectorAll("form").Length); // name, message, go to a room
        var fragments = stream.Seen.Where(e => e.Kind is not null).ToArray();
        Assert.Contains(fragments, e => e.Data.Contains(Marker, StringComparison.Ordinal)); // hostile text did arrive...
        foreach (var e in fragments)
        {
            var document = await ChatBrowser.Parse($"<ol>{e.Data}</ol>");
            AssertOnlyOurMarkup(document.QuerySelector("ol")!.Children, "stream"); // ...as text only
        }

        Assert.DoesNotContain(stream.Seen, e => e.EventType is not ("message" or "ping")); // no injected event names
    }

    /// <summary>
    /// The answer a request gets from its request line and headers alone, whatever it is for: Kestrel's 400 for a
    /// target with a NUL in it, and the body guard's 413 for a body announced over the limit. Null: it depends.
    /// </summary>
    private static int? RefusedUpFront(string path, byte[]? body) =>
        path.Contains("%00", StringComparison.Ordinal) ? 400
        : body?.Length > MaxBody ? 413
        : null;

    /// <summary>What one request got: the status of the answer, or how it ended without one.</summary>
    private readonly record struct Outcome(int? Status, string? NoAnswer)
    {
        public override string ToString() => Status?.ToString(CultureInfo.InvariantCulture) ?? $"no answer ({NoAnswer})";
    }

    private static async Task<Outcome> OutcomeOfAsync(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            using var response = await send();
            return new Outcome((int)response.StatusCode, null);
        }
        catch (HttpRequestException ex)
        {
            return new Outcome(null, $"{ex.HttpRequestError}: {ex.InnerException?.Message ?? ex.Message}");
        }
        catch (TaskCanceledException)
        {
            return new Outcome(null, $"none within {Wait.Default.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// Only the elements and attributes the renderer writes; no user markup became an element or attribute. (A
    /// presence update carries the list of people after its item, as a section swapped out of band; several changes
    /// gathered in one window are one summary item with data-joined and data-left counts.)
    /// </summary>
    private static void AssertOnlyOurMarkup(IHtmlCollection<IElement> items, string where)
    {
        string[] tags = ["LI", "SPAN", "TIME", "P", "SECTION", "H2", "UL"];
        string[] attributes = ["class", "data-kind", "data-id", "data-nick", "data-author", "data-joined", "data-left", "id", "datetime", "aria-labelledby", "hx-swap-oob"];
        foreach (var item in items)
        {
            Assert.True(item.TagName == "LI" || (item.TagName == "SECTION" && item.Id == "presence"), $"{where}: unexpected <{item.TagName}> at the top");
            foreach (var element in item.QuerySelectorAll("*").Prepend(item))
            {
                Assert.True(tags.Contains(element.TagName), $"{where}: unexpected <{element.TagName}> in {item.OuterHtml}");
                Assert.All(element.Attributes, a => Assert.True(attributes.Contains(a.Name), $"{where}: unexpected attribute {a.Name} in {item.OuterHtml}"));
            }
        }
    }

    private static async Task<HttpResponseMessage> SendWith(HttpClient http, HttpMethod method, string path, Action<HttpRequestMessage>? configure, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, path);
        configure?.Invoke(request);
        return await http.SendAsync(request, completion);
    }

    /// <summary>Raw requests, each with the status Kestrel or the app answers it with.</summary>
    private static IEnumerable<(string Name, byte[] Request, int Status)> RawRequests()
    {
        static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);
        yield return ("a bare CR in a header", Ascii("GET / HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n"), 400);
        yield return ("bare LF line ends", Ascii("GET / HTTP/1.1\nHost: x\n\n"), 200);
        yield return ("a 40 kB header", Ascii($"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 40_000)}\r\n\r\n"), 431);
        yield return ("a 20 kB request line", Ascii($"GET /{new string('p', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
        yield return ("non-ASCII bytes in a cookie", Ascii("GET / HTTP/1.1\r\nHost: x\r\nCookie: ssechat-nick=\u00ff\u00fe<script>\r\n\r\n"), 400);
        yield return ("a negative Content-Length", Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400);
        yield return ("both Content-Length and chunked", Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
        yield return ("a broken chunk", Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\n"), 400);
        yield return ("no request line", Ascii("GARBAGE\r\n\r\n"), 400);
        yield return ("a NUL in the target, with a body", Ascii("DELETE /messages%00.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\u00ff\u00fe<s"), 400);
        yield return ("a 40 kB form sent without asking", Ascii($"POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40000\r\n\r\ntext={new string('a', 39_995)}"), 413);
        yield return ("non-ASCII bytes in Last-Event-ID", Ascii("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \u00ff\u00fe\r\nConnection: close\r\n\r\n"), 400);
        yield return ("200 headers", Ascii(string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: v\r\n")).Insert(0, "GET / HTTP/1.1\r\nHost: x\r\n") + "\r\n"), 431);
    }

    /// <summary>How a raw connection ended after its answer.</summary>
    private enum RawEnding
    {
        /// <summary>The server closed it (FIN).</summary>
        Closed,

        /// <summary>The server reset it.</summary>
        Reset,

        /// <summary>Still open 2 s after the answer.</summary>
        Open,
    }

    /// <summary>
    /// Sends raw bytes while reading whatever comes back, then reads on until the server ends the connection (or 2 s
    /// pass): the answer's status (none if the server closed or reset without one), and how the connection ended.
    /// </summary>
    private static async Task<(Outcome Outcome, RawEnding Ending)> SendRawAsync(int port, byte[] request)
    {
        using var client = new TcpClient();
        using var bound = new CancellationTokenSource(Wait.Default);
        await client.ConnectAsync(IPAddress.Loopback, port, bound.Token);
        var stream = client.GetStream();
        var received = new List<byte>();
        var reading = ReadUntilEndAsync(stream, received, bound.Token);
        try
        {
            await stream.WriteAsync(request, bound.Token);
        }
        catch (IOException)
        {
            // The server ended the connection before it took the whole request; what it answered is read below.
        }

        var ending = await reading;
        var head = Encoding.ASCII.GetString([.. received.Take(12)]);
        var outcome = head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && head.Length == 12
            ? new Outcome(int.Parse(head[9..12], CultureInfo.InvariantCulture), null)
            : new Outcome(null, $"the connection was {ending} after {received.Count} bytes");
        return (outcome, ending);
    }

    private static async Task<RawEnding> ReadUntilEndAsync(NetworkStream stream, List<byte> received, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                quiet.CancelAfter(TimeSpan.FromSeconds(2));
                var read = await stream.ReadAsync(buffer, quiet.Token);
                if (read == 0)
                {
                    return RawEnding.Closed;
                }

                received.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (IOException)
        {
            return RawEnding.Reset;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return RawEnding.Open;
        }
    }
}
