using System.Globalization;
using System.Text.RegularExpressions;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>One directive of an nginx configuration, with the blocks it stands in (e.g. ["http", "server", "location = /events"]).</summary>
public sealed record NginxDirective(IReadOnlyList<string> Blocks, string Name, IReadOnlyList<string> Arguments)
{
    public bool IsIn(string block) => Blocks.Contains(block);
}

/// <summary>
/// Reads an nginx configuration into its directives (enough for the files in deploy/nginx: comments, quoted
/// arguments, nested blocks), and renders deploy/nginx/sse-chat.conf.template the ways the cluster does.
/// </summary>
public static partial class NginxConfig
{
    public const string TemplatePath = "deploy/nginx/sse-chat.conf.template";

    public static IReadOnlyList<NginxDirective> Parse(string config)
    {
        var directives = new List<NginxDirective>();
        var blocks = new Stack<string>();
        var words = new List<string>();
        foreach (Match token in Token().Matches(config))
        {
            var text = token.Value;
            switch (text)
            {
                case ";":
                    directives.Add(new NginxDirective(blocks.Reverse().ToArray(), words[0], words.Skip(1).ToArray()));
                    words.Clear();
                    break;
                case "{":
                    blocks.Push(string.Join(' ', words));
                    words.Clear();
                    break;
                case "}":
                    blocks.Pop();
                    break;
                default:
                    if (!text.StartsWith('#'))
                    {
                        words.Add(text.Length > 1 && text[0] == '"' ? text[1..^1] : text);
                    }

                    break;
            }
        }

        return directives;
    }

    /// <summary>An nginx time ("90", "15s", "1h", "1m30s") as a TimeSpan.</summary>
    public static TimeSpan ParseTime(string value)
    {
        var total = TimeSpan.Zero;
        foreach (Match part in TimePart().Matches(value))
        {
            var n = long.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "" or "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                var unit => throw new FormatException($"Unknown nginx time unit '{unit}' in '{value}'."),
            };
        }

        return total;
    }

    /// <summary><c>deploy/nginx/render.sh [--standalone] UPSTREAMS LISTEN</c>: what scripts/cluster.sh runs.</summary>
    public static async Task<string> RenderAsync(IEnumerable<string> upstreams, string listen, bool standalone = false)
    {
        IEnumerable<string> arguments = [string.Join(',', upstreams), listen];
        var result = await ExternalTool.RunScriptAsync("deploy/nginx/render.sh", standalone ? arguments.Prepend("--standalone") : arguments, TimeSpan.FromSeconds(30));
        return result.ExitCode == 0 ? result.Output : throw new InvalidOperationException($"render.sh failed: {result}");
    }

    [GeneratedRegex("""#[^\n]*|"[^"]*"|[{};]|[^\s{};"#]+""")]
    private static partial Regex Token();

    [GeneratedRegex(@"(\d+)(ms|s|m|h|d|)")]
    private static partial Regex TimePart();
}
