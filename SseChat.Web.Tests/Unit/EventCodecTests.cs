using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Tests.Unit;

/// <summary>The wire form on Redis, including the presence notices that the presence Lua scripts write themselves.</summary>
public sealed class EventCodecTests
{
    [Fact]
    public void A_notice_with_presence_survives_the_round_trip()
    {
        var notice = new ChatEvent(ChatEventKind.UserLeft, "r-1", "Zoë", "", DateTimeOffset.FromUnixTimeMilliseconds(1_764_234_300_123),
            Author: "0123456789abcdef", Presence: new PresenceStamp(1_764_234_300_123_000, 12_345));

        var (back, sequence) = EventCodec.DeserializeChannelPayload(EventCodec.NoticePayload(notice));

        Assert.Equal(0, sequence);
        Assert.Equal(notice, back);
    }

    [Fact]
    public void What_the_presence_script_publishes_decodes_to_a_notice_with_its_version_and_count()
    {
        // The shape RedisPresenceStore's Lua builds: cjson-encoded strings (raw UTF-8, "\/" for "/"), integers
        // printed without exponent; no list of people (a notice costs the same in any room).
        var payload = "\n\n{\"k\":1,\"r\":\"lobby\",\"n\":\"Zoë\\/1\",\"t\":\"\",\"ts\":1764234300123,\"a\":\"aaaaaaaaaaaaaaaa\"," +
                      "\"pv\":1764234300123001,\"pc\":2}";

        var (e, _) = EventCodec.DeserializeChannelPayload(payload);

        Assert.Equal(ChatEventKind.UserJoined, e.Kind);
        Assert.Null(e.Id);
        Assert.Equal("Zoë/1", e.Nick);
        Assert.Equal("aaaaaaaaaaaaaaaa", e.Author);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_764_234_300_123), e.Timestamp);
        Assert.Equal(new PresenceStamp(1_764_234_300_123_001, 2), e.Presence);
    }

    [Fact]
    public void A_message_carries_its_author_and_no_presence()
    {
        var message = new ChatEvent(ChatEventKind.Message, "lobby", "ann", "hi", DateTimeOffset.UnixEpoch, ClientMessageId: "c1", Author: "abcd");

        var json = EventCodec.Serialize(message);
        var back = EventCodec.Deserialize(json, "1-0");

        Assert.Equal(message with { Id = "1-0" }, back);
        Assert.DoesNotContain("\"pv\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("null", json, StringComparison.Ordinal);
    }
}
