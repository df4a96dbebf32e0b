using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>Runs a delivery test against either bus: the guarantees must be the same in both modes.</summary>
public static class ChatModes
{
    public const string InProcess = "in-process";
    public const string Redis = "redis";

    public static TheoryData<string> Both => new() { InProcess, Redis };

    public static ChatAppFactory Create(string mode, RedisServer redis, Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        if (mode == Redis)
        {
            settings["Redis:Configuration"] = redis.Configuration;
            settings["Redis:KeyPrefix"] = RedisServer.NewKeyPrefix();
        }

        return new ChatAppFactory(settings);
    }

    /// <summary>The text as it appears inside a fragment (HTML-encoded), for matching stream events.</summary>
    public static string Encoded(string text) => System.Text.Encodings.Web.HtmlEncoder.Default.Encode(text);

    /// <summary>The plain text of a message event's fragment.</summary>
    public static string TextOf(SseEvent e)
    {
        const string open = "<p class=\"text\">";
        var start = e.Data.IndexOf(open, StringComparison.Ordinal) + open.Length;
        return System.Net.WebUtility.HtmlDecode(e.Data[start..e.Data.IndexOf("</p>", start, StringComparison.Ordinal)]);
    }
}
