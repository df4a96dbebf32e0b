using System.Net;
using System.Text.Json;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using SseChat.LoadDriver;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// k6 cannot be installed here, so the scripts are checked with node: each must parse as an ES module, and the
/// contract module they share (load-tests/lib/chat-contract.js) runs under node against the real app's page and
/// stream, so a change of paths, field names, data-kind or HTML encoding that would break the scripts fails here.
/// </summary>
public sealed class K6ScriptTests : ChatAppTests
{
    private static readonly string[] Scripts = ["smoke.js", "chat.js", "lib/chat-contract.js"];

    private readonly string _temp = Directory.CreateTempSubdirectory("ssechat-k6-").FullName;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Directory.Delete(_temp, recursive: true);
        }
    }

    public static TheoryData<string> ScriptNames => [.. Scripts];

    [Theory]
    [MemberData(nameof(ScriptNames))]
    public async Task The_script_parses_as_an_ES_module(string script)
    {
        // k6 scripts use import syntax: checked as modules (.mjs), whatever the folder's package.json says.
        var copy = Path.Combine(_temp, Path.GetFileNameWithoutExtension(script) + ".mjs");
        File.Copy(LoadTestFiles.PathOf(script), copy);

        var (exit, _, error) = await NodeAsync(["--check", copy], _temp);

        Assert.True(exit == 0, $"node --check {script} failed:\n{error}");
    }

    [Fact]
    public void Every_script_in_the_folder_is_checked()
    {
        var found = Directory.EnumerateFiles(LoadTestFiles.Folder, "*.js", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(LoadTestFiles.Folder, f).Replace('\\', '/'))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal)
                && !f.StartsWith("tools/", StringComparison.Ordinal) // node tools, not k6 scripts (ReportToolTests)
                && !f.StartsWith("peers-driver/", StringComparison.Ordinal));

        Assert.Equal(Scripts.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_chat_script_streams_with_xk6_sse_in_separate_subscriber_and_publisher_scenarios_with_thresholds()
    {
        var chat = File.ReadAllText(LoadTestFiles.PathOf("chat.js"));
        var smoke = File.ReadAllText(LoadTestFiles.PathOf("smoke.js"));

        Assert.Contains("import sse from 'k6/x/sse';", chat, StringComparison.Ordinal);
        Assert.Contains("from './lib/chat-contract.js';", chat, StringComparison.Ordinal);
        Assert.Contains("from './lib/chat-contract.js';", smoke, StringComparison.Ordinal);
        Assert.DoesNotContain("k6/x/", smoke, StringComparison.Ordinal);
        Assert.Contains("__ENV.SSECHAT_URLS", chat, StringComparison.Ordinal);
        Assert.Contains("subscribers: {", chat, StringComparison.Ordinal);
        Assert.Contains("publishers: {", chat, StringComparison.Ordinal);
        Assert.Contains("executor: 'constant-arrival-rate'", chat, StringComparison.Ordinal);
        foreach (var threshold in new[] { "chat_delivery_latency: [`p(95)<", "chat_lost: ['count==0']", "chat_duplicates: ['count==0']", "http_req_failed{scenario:publishers}" })
        {
            Assert.Contains(threshold, chat, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_contract_module_reads_the_real_page_builds_a_post_the_app_accepts_and_finds_it_in_the_stream()
    {
        var sentMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var client = Browser.Client(App.BaseAddress);
        using var pageResponse = await client.GetAsync("/");
        var html = await pageResponse.Content.ReadAsStringAsync();

        using var page = await RunContractAsync("page", new { html, run = "k6test", seq = 7, sentMs, payload = 120 });
        var paths = page.RootElement.GetProperty("paths");
        var fields = page.RootElement.GetProperty("fields");
        var form = page.RootElement.GetProperty("form");
        var text = page.RootElement.GetProperty("text").GetString()!;

        // What the scripts take from the page is what the page's message form has.
        var document = await ChatBrowser.Parse(html);
        var send = document.QuerySelector<IHtmlFormElement>("form#send")!;
        Assert.Equal(paths.GetProperty("messages").GetString(), send.GetAttribute("hx-post"));
        Assert.NotNull(send.QuerySelector($"textarea[name={fields.GetProperty("text").GetString()}]"));
        Assert.Equal(send.QuerySelector<IHtmlInputElement>($"input[name={fields.GetProperty("cmid").GetString()}]")!.Value, form.GetProperty("cmid").GetString());
        Assert.Equal(send.QuerySelector<IHtmlInputElement>($"input[name={fields.GetProperty("token").GetString()}]")!.Value, form.GetProperty("token").GetString());
        Assert.Contains(Browser.Cookies.GetCookies(App.BaseAddress), c => c.Name == page.RootElement.GetProperty("cookie").GetString());
        Assert.Equal(120, text.Length);
        Assert.Equal(ChatInstance.ReadSendForm(html).Token, form.GetProperty("token").GetString());

        await using var stream = await SseClient.ConnectAsync(client, paths.GetProperty("events").GetString()!);
        var ping = await stream.WaitForAsync(_ => true, "the first event");
        var joined = await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");
        using var response = await Browser.PostFormAsync(App.BaseAddress, paths.GetProperty("messages").GetString()!, htmx: true, new()
        {
            [fields.GetProperty("text").GetString()!] = text,
            [fields.GetProperty("cmid").GetString()!] = page.RootElement.GetProperty("cmid").GetString()!,
            [fields.GetProperty("token").GetString()!] = form.GetProperty("token").GetString()!,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = await stream.WaitForMessageAsync("lt:k6test-7:");

        // xk6-sse names unnamed events "", browsers and SseParser "message"; both are content, "ping" is not.
        using var parsed = await RunContractAsync("events", new[]
        {
            new { name = "", data = message.Data },
            new { name = message.EventType, data = message.Data },
            new { name = "", data = joined.Data },
            new { name = ping.EventType, data = ping.Data },
        });
        var results = parsed.RootElement.EnumerateArray().ToArray();
        foreach (var delivered in results[..2])
        {
            Assert.True(delivered.GetProperty("content").GetBoolean());
            Assert.Equal("message", delivered.GetProperty("kind").GetString());
            var lt = delivered.GetProperty("lt");
            Assert.Equal("k6test", lt.GetProperty("run").GetString());
            Assert.Equal(7, lt.GetProperty("seq").GetInt32());
            Assert.Equal(sentMs, lt.GetProperty("sentMs").GetInt64());
        }

        Assert.Equal("user-joined", results[2].GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, results[2].GetProperty("lt").ValueKind);
        Assert.False(results[3].GetProperty("content").GetBoolean());
    }

    /// <summary>Runs the contract module's functions under node on the given input; returns what they produced.</summary>
    private async Task<JsonDocument> RunContractAsync(string mode, object input)
    {
        var module = Path.Combine(_temp, "chat-contract.mjs");
        if (!File.Exists(module))
        {
            File.Copy(LoadTestFiles.PathOf("lib/chat-contract.js"), module);
            await File.WriteAllTextAsync(Path.Combine(_temp, "harness.mjs"), """
                import * as c from './chat-contract.mjs';
                import { readFileSync } from 'node:fs';
                const [mode, file] = process.argv.slice(2);
                const input = JSON.parse(readFileSync(file, 'utf8'));
                const out = mode === 'page'
                  ? { paths: c.PATHS, fields: c.FIELDS, cookie: c.ANTIFORGERY_COOKIE, form: c.sendForm(input.html),
                      text: c.loadText(input.run, input.seq, input.sentMs, input.payload), cmid: c.loadCmid(input.run, input.seq) }
                  : input.map((e) => ({ content: c.isContentEvent(e.name), kind: c.fragmentKind(e.data), lt: c.parseLoadText(e.data) }));
                process.stdout.write(JSON.stringify(out));
                """);
        }

        var inputFile = Path.Combine(_temp, $"{mode}.json");
        await File.WriteAllTextAsync(inputFile, JsonSerializer.Serialize(input));
        var (exit, output, error) = await NodeAsync([Path.Combine(_temp, "harness.mjs"), mode, inputFile], _temp);
        Assert.True(exit == 0, $"the contract harness failed:\n{error}");
        return JsonDocument.Parse(output);
    }

    /// <summary>node (scripts/test.sh installs it when missing), in the given folder, for at most 20 s.</summary>
    private static Task<ToolResult> NodeAsync(IEnumerable<string> arguments, string workingDirectory) =>
        ExternalTool.RunAsync(ExternalTool.Require("node", "nodejs"), arguments, TimeSpan.FromSeconds(20), workingDirectory: workingDirectory);
}
