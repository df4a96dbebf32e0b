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

    [Fact]
    public async Task A_thousand_hostile_requests_get_no_5xx_and_no_markup_gets_through_unencoded()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>());
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        var nickToken = page.Document.QuerySelector("#nick input[name=__RequestVerificationToken]")!.GetAttribute("value")!;
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await stream.WaitForAsync(e => e.EventType == "ping", "stream open");
        var http = browser.Client(app.BaseAddress);
        using var bare = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = app.BaseAddress, Timeout = Wait.Default };

        var random = new Random(20261127);
        var answers = new List<(string Request, int Status)>();
        var dropped = new List<string>();
        async Task Send(string what, Func<Task<HttpResponseMessage>> send, bool oversized = false)
        {
            try
            {
                using var response = await send();
                answers.Add((what, (int)response.StatusCode));
            }
            catch (HttpRequestException) when (oversized)
            {
                // The server answered at once (413, or Kestrel's 400 for a target it refuses, such as %00) without
                // reading the body, and closed the connection while this client was still sending it, so the client
                // never read the answer. Browsers do; the raw requests below show the answer is there.
                answers.Add((what + " [closed while sending]", 400));
            }
            catch (HttpRequestException ex)
            {
                dropped.Add($"{what}: {ex.InnerException?.Message ?? ex.Message}");
                answers.Add((what, 0));
            }
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
        while (answers.Count < 1100)
        {
            var method = methods[random.Next(methods.Length)];
            var path = Pick(Paths);
            var body = badBodies[random.Next(badBodies.Length)];
            var contentType = Pick(ContentTypes);
            await Send($"{method} {path} ({contentType}, {body.Length} bytes)", () => SendWith(random.Next(2) == 0 ? http : bare, method, path, r =>
            {
                if (method != HttpMethod.Get && method != HttpMethod.Head)
                {
                    r.Content = new ByteArrayContent(body);
                    if (contentType.Length > 0)
                    {
                        r.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                    }
                }

                r.Headers.TryAddWithoutValidation("HX-Request", random.Next(2) == 0 ? "true" : "<script>");
                // The server may close a connection after refusing a body it did not read; a pooled connection
                // reused at that moment fails on the client's side. One connection per request keeps answers exact.
                r.Headers.ConnectionClose = true;
            }, HttpCompletionOption.ResponseHeadersRead), oversized: body.Length > 32 * 1024 || (body.Length > 0 && path.Contains("%00", StringComparison.Ordinal)));
        }

        // What no HttpClient would send: raw requests with broken header lines, huge headers, bare LF, non-ASCII bytes.
        foreach (var raw in RawRequests())
        {
            var status = await SendRawAsync(app.Port, raw);
            Assert.True(status is >= 400 and < 500 || status == 200, $"raw request {Encoding.ASCII.GetString(raw[..Math.Min(60, raw.Length)])} got {status}");
            answers.Add(($"raw {Encoding.ASCII.GetString(raw[..Math.Min(40, raw.Length)])}", status));
        }

        Assert.True(answers.Count >= 1000, $"only {answers.Count} requests");
        Assert.True(dropped.Count == 0, "Requests that got no answer:\n" + string.Join('\n', dropped.Take(20)));
        var serverErrors = answers.Where(a => a.Status >= 500 && a.Status != 503).ToArray();
        Assert.True(serverErrors.Length == 0, "5xx answers:\n" + string.Join('\n', serverErrors.Select(e => $"{e.Status} {e.Request}")));
        Assert.DoesNotContain(answers, a => a.Status == 503); // nothing here should make the bus or the limits refuse
        Assert.Contains(answers, a => a.Status == 200); // and some of it was accepted and published

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

    private static IEnumerable<byte[]> RawRequests()
    {
        static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);
        yield return Ascii("GET / HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n");
        yield return Ascii("GET / HTTP/1.1\nHost: x\n\n");
        yield return Ascii($"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('b', 40_000)}\r\n\r\n");
        yield return Ascii($"GET /{new string('p', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n");
        yield return Ascii("GET / HTTP/1.1\r\nHost: x\r\nCookie: ssechat-nick=\u00ff\u00fe<script>\r\n\r\n");
        yield return Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
        yield return Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        yield return Ascii("POST /messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\n");
        yield return Ascii("GARBAGE\r\n\r\n");
        yield return Ascii("DELETE /messages%00.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\u00ff\u00fe<s");
        yield return Ascii($"POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40000\r\n\r\ntext={new string('a', 39_995)}");
        yield return Ascii("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \u00ff\u00fe\r\nConnection: close\r\n\r\n");
        yield return Ascii(string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: v\r\n")).Insert(0, "GET / HTTP/1.1\r\nHost: x\r\n") + "\r\n");
    }

    /// <summary>Sends raw bytes and returns the status code of the answer (0: the server closed without one).</summary>
    private static async Task<int> SendRawAsync(int port, byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        try
        {
            read = await stream.ReadAsync(buffer, cts.Token);
        }
        catch (IOException)
        {
            return 0;
        }

        var status = Encoding.ASCII.GetString(buffer, 0, read);
        return status.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(status[9..12], System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}
