using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Tests.Infrastructure;
using StackExchange.Redis;

namespace SseChat.Web.Tests.Cluster;

/// <summary>The Lua side of the wire format, on a real redis-server: the scripts' fill gives what RedisWireFormat.Fill gives.</summary>
[Collection(RedisServerGroup.Name)]
public sealed class RedisWireFormatScriptTests(RedisServer redis) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Theory]
    [InlineData("lobby", "ann", "0123456789abcdef")]
    [InlineData("r-1", "Zoë \"%1\" <b> \\ /", "tag%a")]
    public async Task A_notice_filled_by_lua_is_the_notice_filled_by_csharp(string room, string nick, string author)
    {
        var template = RedisWireFormat.NoticeTemplate(ChatEventKind.UserLeft, room);
        var member = RedisWireFormat.Member(nick, author);
        var values = new Dictionary<char, string> { ['t'] = "1764234300123", ['v'] = "1764234300123000", ['c'] = "12345", ['m'] = member };

        var filled = (string?)await _redis.GetDatabase().ScriptEvaluateAsync(
            RedisWireFormat.LuaFill + "return fill(ARGV[1], {t = ARGV[2], v = ARGV[3], c = ARGV[4], m = ARGV[5]})",
            values: [template, values['t'], values['v'], values['c'], values['m']]);

        Assert.Equal(RedisWireFormat.Fill(template, values), filled);
        var (notice, _) = RedisWireFormat.ReadFrame(filled!);
        Assert.Equal((ChatEventKind.UserLeft, room, nick, author, 12345), (notice.Kind, notice.Room, notice.Nick, notice.Author, notice.Presence!.Count));
    }
}
