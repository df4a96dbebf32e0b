using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// An HTTP/1.1 event stream read raw off its socket: live frames are written as chunks straight onto the connection
/// (ChunkedConnection), after what Kestrel wrote itself and before its last chunk.
/// </summary>
public sealed class ChunkedStreamTests
{
    [Fact]
    public async Task The_body_is_well_formed_chunks_from_the_first_frame_through_live_messages_to_the_last_chunk_at_shutdown()
    {
        var app = new ChatAppFactory();
        try
        {
            using var browser = new ChatBrowser();
            var page = await browser.GetPageAsync(app.BaseAddress);
            using var client = new TcpClient();
            await client.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
            using var reader = new ChunkReader(client.GetStream());
            await client.GetStream().WriteAsync("GET /events HTTP/1.1\r\nHost: chat\r\nAccept: text/event-stream\r\n\r\n"u8.ToArray());

            var head = await reader.ReadHeadAsync();
            Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
            Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.OrdinalIgnoreCase);
            await reader.ReadUntilAsync("joined");

            for (var i = 0; i < 3; i++)
            {
                using var response = await browser.PostMessageAsync(app.BaseAddress, page, $"raw {i} <b>&</b>", cmid: Delivery.ResumeTests.Cmid());
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await reader.ReadUntilAsync("raw 2 &lt;b&gt;&amp;&lt;/b&gt;");
            Assert.Contains("raw 0 &lt;b&gt;", reader.Body, StringComparison.Ordinal);

            // A graceful stop: the stream's farewell, then the response's last chunk, nothing torn.
            var stopping = app.DisposeAsync().AsTask();
            Assert.True(await reader.ReadToLastChunkAsync(), "the response ended with its last chunk");
            Assert.Contains("event: reconnect", reader.Body, StringComparison.Ordinal);
            await stopping.WaitAsync(Wait.Default);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>Reads an HTTP/1.1 response's head, then its chunks strictly (RFC 9112, section 7.1); every read bounded.</summary>
    private sealed class ChunkReader(Stream stream) : IDisposable
    {
        private readonly BufferedStream _in = new(stream);
        private readonly StringBuilder _body = new();
        private readonly CancellationTokenSource _bound = new(Wait.Default);

        public string Body => _body.ToString();

        public async Task<string> ReadHeadAsync()
        {
            var head = new StringBuilder();
            while (await ReadLineAsync() is { Length: > 0 } line)
            {
                head.Append(line).Append('\n');
            }

            return head.ToString();
        }

        /// <summary>Reads whole chunks until the body holds <paramref name="text"/>.</summary>
        public async Task ReadUntilAsync(string text)
        {
            try
            {
                while (!Body.Contains(text, StringComparison.Ordinal))
                {
                    Assert.True(await ReadChunkAsync(), $"the stream ended before \"{text}\"");
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"\"{text}\" not read in time; the body so far:\n{Body}");
            }
        }

        /// <summary>Reads chunks until the last one (size 0 and its CRLF); false if the connection ends first.</summary>
        public async Task<bool> ReadToLastChunkAsync()
        {
            try
            {
                while (await ReadChunkAsync())
                {
                }

                return await ReadLineAsync() == "";
            }
            catch (EndOfStreamException)
            {
                return false;
            }
        }

        // One chunk: its size in hex, CRLF, that many bytes, CRLF. False for the last chunk (size 0).
        private async Task<bool> ReadChunkAsync()
        {
            var sizeLine = await ReadLineAsync();
            Assert.Matches("^[0-9a-fA-F]+$", sizeLine);
            var size = int.Parse(sizeLine, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return false;
            }

            var data = new byte[size];
            await _in.ReadExactlyAsync(data, _bound.Token);
            _body.Append(Encoding.UTF8.GetString(data));
            Assert.Equal("", await ReadLineAsync()); // the CRLF right after the data
            return true;
        }

        private async Task<string> ReadLineAsync()
        {
            var line = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                await _in.ReadExactlyAsync(one, _bound.Token);
                if (one[0] == '\n')
                {
                    Assert.True(line.Count > 0 && line[^1] == '\r', "a line ends with CRLF");
                    return Encoding.ASCII.GetString(line.ToArray(), 0, line.Count - 1);
                }

                line.Add(one[0]);
            }
        }

        public void Dispose()
        {
            _in.Dispose();
            _bound.Dispose();
        }
    }
}
