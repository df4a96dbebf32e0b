using SseChat.Web.Chat;

namespace SseChat.Web.Tests.Unit;

public sealed class ValidationTests
{
    [Theory]
    [InlineData("hello", "hello")]
    [InlineData("  padded \n", "padded")]
    [InlineData("two\r\nlines", "two\nlines")]
    [InlineData("tab\tinside", "tab\tinside")]
    [InlineData("ünïcödé 😀 中文", "ünïcödé 😀 中文")]
    public void Valid_text_is_trimmed_and_normalised(string raw, string expected)
    {
        Assert.True(Validation.TryValidateText(raw, out var text, out var error), error);
        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData(null, "Type a message")]
    [InlineData("", "Type a message")]
    [InlineData("   \n\t ", "Type a message")]
    [InlineData("bell\u0007", "control character (U+0007)")]
    [InlineData("nul\0byte", "control character (U+0000)")]
    [InlineData("esc\u001b[31m", "control character (U+001B)")]
    [InlineData("c1\u0085inside", "control character (U+0085)")]
    [InlineData("bad \uFFFD utf8", "not valid UTF-8")]
    [InlineData("lone \uD800 surrogate", "not valid UTF-8")]
    public void Invalid_text_is_refused_with_a_reason(string? raw, string reason)
    {
        Assert.False(Validation.TryValidateText(raw, out var text, out var error));
        Assert.Null(text);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_of_exactly_the_limit_passes_and_one_more_fails()
    {
        Assert.True(Validation.TryValidateText(new string('a', Validation.MaxTextLength), out _, out _));
        Assert.False(Validation.TryValidateText(new string('a', Validation.MaxTextLength + 1), out _, out var error));
        Assert.Contains("2,001", error, StringComparison.Ordinal);
        Assert.Contains("2,000", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_limit_counts_after_trimming()
    {
        Assert.True(Validation.TryValidateText("  " + new string('a', Validation.MaxTextLength) + "  ", out var text, out _));
        Assert.Equal(Validation.MaxTextLength, text.Length);
    }

    [Theory]
    [InlineData("ann")]
    [InlineData("Ann Smith")]
    [InlineData("a-b_c.d")]
    [InlineData("Zoë")]
    [InlineData("李小龙")]
    [InlineData("x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void Valid_nicks_pass(string nick)
    {
        Assert.True(Validation.TryValidateNick(nick, out var clean, out var error), error);
        Assert.Equal(nick, clean);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("<script>")]
    [InlineData("a\"b")]
    [InlineData("tab\there")]
    [InlineData("new\nline")]
    [InlineData("emoji😀")]
    [InlineData("semi;colon")]
    [InlineData("slash/")]
    public void Invalid_nicks_are_refused(string? nick)
    {
        Assert.False(Validation.TryValidateNick(nick, out var clean, out var error));
        Assert.Null(clean);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", true)]
    [InlineData("a-b_C", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("has space", false)]
    [InlineData("colon:key", false)]
    [InlineData("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false)]
    public void Client_message_ids_are_checked_before_they_become_part_of_a_key(string? id, bool valid) =>
        Assert.Equal(valid, ClientMessageId.IsValid(id));

    [Theory]
    [InlineData("lobby")]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("design-review-2026")]
    [InlineData("-")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789-abc")] // 40
    public void Valid_room_names_pass_unchanged(string name)
    {
        Assert.True(Validation.TryValidateRoom(name, out var room, out var error), error);
        Assert.Equal(name, room);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Lobby")]
    [InlineData("LOBBY")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789-abcd")] // 41
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a:b")]
    [InlineData("a_b")]
    [InlineData("a b")]
    [InlineData(" lobby")]
    [InlineData("lobby ")]
    [InlineData("caf\u00e9")]
    [InlineData("\u0430bc")] // a Cyrillic "а" that looks like the Latin one
    [InlineData("\uff41")] // a full-width "ａ"
    [InlineData("a\0b")]
    [InlineData("%2e%2e")]
    [InlineData("room\n")]
    public void Invalid_room_names_are_refused_with_the_rule(string? name)
    {
        Assert.False(Validation.TryValidateRoom(name, out var room, out var error));
        Assert.Null(room);
        Assert.Equal(Validation.RoomRule, error);
    }
}
