using System.Text;
using SseChat.LoadDriver;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using SseChat.Web.Presence;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>The driver's stream reader on the app's real frames, framed as Kestrel sends them, cut at every byte.</summary>
public sealed class SseWireDecoderTests
{
    private static readonly byte[] Run = "run1"u8.ToArray();

    [Fact]
    public void Real_frames_in_chunks_read_the_same_however_the_bytes_are_cut()
    {
        var frames = TestPresence.Frames(new FragmentRenderer());
        var text = LoadText.Format("run1", 1234, 1732000000000, 300);
        var message = new ChatEvent(ChatEventKind.Message, ChatOptions.Lobby, "ann <b>", text, DateTimeOffset.UnixEpoch, new LogId(5, 0));
        var joined = new PresenceChanges();
        joined.Add(new ChatEvent(ChatEventKind.UserJoined, ChatOptions.Lobby, "ann <b>", "", DateTimeOffset.UnixEpoch, Presence: new PresenceStamp(1, 1)));
        var response = Response(
            frames.Hello.Bytes,
            [.. frames.PresenceUpdate(joined, list: null)!.Value.Bytes, .. frames.Message(message).Bytes],
            "event: reset\r\ndata: history\r\n\r\n: a comment\r\ndata: lt:run1-9:1\rid: 7-1\r\r"u8.ToArray(),
            "data: lt:run2-9:1\nid:\n\n"u8.ToArray());
        long[] expected = [StreamReceiver.Control, StreamReceiver.OtherContent, 1234, StreamReceiver.Reset, 9, StreamReceiver.OtherContent];

        for (var cut = 0; cut <= response.Length; cut++)
        {
            var decoder = new SseWireDecoder(Run);
            var items = Read(decoder, response[..cut]).Concat(Read(decoder, response[cut..])).ToArray();

            Assert.Equal(expected, items);
            Assert.Equal("7-1", decoder.LastEventId);
            Assert.True(decoder.Ended);
        }

        var byteByByte = new SseWireDecoder(Run);
        Assert.Equal(expected, response.SelectMany(b => Read(byteByByte, [b])));
        Assert.Equal(200, byteByByte.StatusCode);
    }

    [Fact]
    public void The_last_event_id_moves_only_when_an_event_is_dispatched_and_survives_a_reconnect()
    {
        var decoder = new SseWireDecoder(Run, lastEventId: "5-0");
        var cutOff = Response("data: a\nid: 6-0\n\nid: 7-0\ndata: cut off"u8.ToArray())[..^"0\r\n\r\n".Length];
        var items = Read(decoder, cutOff);

        Assert.Equal([StreamReceiver.OtherContent], items);
        Assert.Equal("6-0", decoder.LastEventId);
        Assert.False(decoder.Ended);
        Assert.False(decoder.CompleteAtClose);
        Assert.Equal("5-0", new SseWireDecoder(Run, "5-0").LastEventId);
        Assert.Null(new SseWireDecoder(Run).LastEventId);
    }

    [Fact]
    public void A_refusal_stops_after_the_head_with_its_status()
    {
        var decoder = new SseWireDecoder(Run);
        ReadOnlySpan<byte> input = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 5\r\n\r\nbusy!"u8;

        Assert.False(decoder.TryRead(ref input, out _));
        Assert.True(decoder.HeadRead);
        Assert.Equal(429, decoder.StatusCode);
        Assert.Equal("busy!", Encoding.ASCII.GetString(input));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n")]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n")]
    public void Malformed_framing_is_refused_not_misread(string response)
    {
        var decoder = new SseWireDecoder(Run);

        Assert.Throws<InvalidDataException>(() => Read(decoder, Encoding.ASCII.GetBytes(response)));
    }

    [Fact]
    public void A_body_without_chunks_reads_to_the_close_and_chunk_extensions_are_skipped()
    {
        var plain = new SseWireDecoder(Run);
        Assert.Equal([3], Read(plain, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: lt:run1-3:1\n\n"u8.ToArray()));
        Assert.True(plain.CompleteAtClose);

        var extended = new SseWireDecoder(Run);
        Assert.Equal([4], Read(extended, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n13;x=y\r\ndata: lt:run1-4:1\n\n\r\n0\r\n\r\n"u8.ToArray()));
        Assert.True(extended.Ended);
    }

    /// <summary>A 200 event-stream response with each part as one chunk, then the last chunk.</summary>
    private static byte[] Response(params byte[][] chunks)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"));
        foreach (var chunk in chunks)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"));
            bytes.AddRange(chunk);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        bytes.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. bytes];
    }

    private static List<long> Read(SseWireDecoder decoder, byte[] bytes)
    {
        var items = new List<long>();
        ReadOnlySpan<byte> input = bytes;
        while (!input.IsEmpty)
        {
            if (decoder.TryRead(ref input, out var item))
            {
                items.Add(item);
            }
        }

        return items;
    }
}
