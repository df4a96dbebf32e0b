using System.Text.Json;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The wire form of a room on Redis, both ways. The scripts fill templates that RedisWireFormat makes; these tests fill
/// them as <see cref="RedisWireFormat.Fill"/> does, and Cluster/RedisWireFormatScriptTests runs the real Lua on a real Redis.
/// </summary>
public sealed class RedisWireFormatTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_764_234_300_123);

    [Fact]
    public void A_notice_frame_reads_back_as_the_same_notice()
    {
        var notice = new ChatEvent(ChatEventKind.UserLeft, "r-1", "Zoë \"the\" <b>", "", At,
            Author: "0123456789abcdef", Presence: new PresenceStamp(1_764_234_300_123_000, 12_345));

        var (back, sequence) = RedisWireFormat.ReadFrame(RedisWireFormat.NoticeFrame(notice));

        Assert.Equal(0, sequence);
        Assert.Equal(notice, back);
    }

    [Fact]
    public void A_notice_template_has_holes_only_for_what_redis_knows()
    {
        var template = RedisWireFormat.NoticeTemplate(ChatEventKind.UserJoined, "lobby");

        Assert.Equal("\n\n{\"k\":1,\"r\":\"lobby\",\"ts\":\u0001t,\"pv\":\u0001v,\"pc\":\u0001c,\"m\":\u0001m}", template);
    }

    [Fact]
    public void A_message_frame_is_its_id_its_sequence_and_its_body()
    {
        var message = new ChatEvent(ChatEventKind.Message, "lobby", "ann", "hi\nthere", At, ClientMessageId: "c1", Author: "abcd");
        var body = RedisWireFormat.MessageBody(message);
        var frame = RedisWireFormat.Fill(RedisWireFormat.MessageFramePrefix, new Dictionary<char, string> { ['i'] = "1764234300123-4", ['s'] = "17" }) + body;

        var (back, sequence) = RedisWireFormat.ReadFrame(frame);

        Assert.Equal(17, sequence);
        Assert.Equal(message with { Id = new LogId(1_764_234_300_123, 4) }, back);
        Assert.DoesNotContain("\"pv\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("null", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_entry_reads_back_under_its_entry_id()
    {
        var message = new ChatEvent(ChatEventKind.Message, "lobby", "ann", "hi", At, ClientMessageId: "c1", Author: "abcd");

        var back = RedisWireFormat.ReadLogEntry(new LogId(5, 0), RedisWireFormat.MessageBody(message));

        Assert.Equal(message with { Id = new LogId(5, 0) }, back);
    }

    [Fact]
    public void A_notice_in_the_earlier_shape_still_reads()
    {
        // Before the member moved into "m" (an instance of the earlier version, during a rolling upgrade).
        var payload = "\n\n{\"k\":1,\"r\":\"lobby\",\"n\":\"Zoë\\/1\",\"t\":\"\",\"ts\":1764234300123,\"a\":\"aaaaaaaaaaaaaaaa\"," +
                      "\"pv\":1764234300123001,\"pc\":2}";

        var (e, _) = RedisWireFormat.ReadFrame(payload);

        Assert.Equal(ChatEventKind.UserJoined, e.Kind);
        Assert.Equal("Zoë/1", e.Nick);
        Assert.Equal("aaaaaaaaaaaaaaaa", e.Author);
        Assert.Equal(At, e.Timestamp);
    }

    [Theory]
    [InlineData("no newlines")]
    [InlineData("x\n1\n{\"k\":0,\"r\":\"lobby\",\"ts\":0}")]
    [InlineData("1-0\nseven\n{\"k\":0,\"r\":\"lobby\",\"ts\":0}")]
    [InlineData("\n\n{\"k\":9,\"r\":\"lobby\",\"ts\":0}")]
    [InlineData("\n\nnot json")]
    public void A_malformed_frame_is_refused_as_json(string frame) =>
        Assert.ThrowsAny<JsonException>(() => RedisWireFormat.ReadFrame(frame));

    [Fact]
    public void Fill_leaves_unknown_holes_and_plain_text_alone()
    {
        var filled = RedisWireFormat.Fill("a\u0001xb\u0001yc\u0001", new Dictionary<char, string> { ['x'] = "%1$" });

        Assert.Equal("a%1$b\u0001yc\u0001", filled);
    }

    [Fact]
    public void A_member_reads_back()
    {
        Assert.Equal(new PresentPerson("ann \"b\"", "tag"), RedisWireFormat.ReadMember(RedisWireFormat.Member("ann \"b\"", "tag")));
    }
}
