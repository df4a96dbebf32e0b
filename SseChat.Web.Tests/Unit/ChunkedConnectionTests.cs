using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>The chunk framing a live HTTP/1.1 stream writes onto its connection (RFC 9112, section 7.1).</summary>
public sealed class ChunkedConnectionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(228)]
    [InlineData(4_096)]
    [InlineData(70_000)]
    public async Task A_frame_is_one_chunk_its_size_in_hex_then_CRLF_the_frame_and_CRLF_even_past_the_pipes_block_size(int size)
    {
        // Kestrel's connections take 4 KiB blocks from their pool: a larger frame must still go out whole.
        var pipe = new Pipe(new PipeOptions(pool: new BlockPool(4_096), pauseWriterThreshold: 0)); // never waits for the reader
        var frame = Enumerable.Range(0, size).Select(i => (byte)('a' + (i % 26))).ToArray();

        ChunkedConnection.Write(pipe.Writer, frame);
        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();

        var expected = Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n").Concat(frame).Concat("\r\n"u8.ToArray());
        Assert.Equal(expected, await ReadAllAsync(pipe.Reader));
    }

    [Fact]
    public async Task Frames_written_between_a_start_and_an_end_are_one_chunk_of_their_total_size()
    {
        var pipe = new Pipe(new PipeOptions(pool: new BlockPool(4_096), pauseWriterThreshold: 0));
        var frames = new[] { "id: 1\ndata: a\n\n"u8.ToArray(), new byte[5_000], "data: b\n\n"u8.ToArray() };
        var total = frames.Sum(f => f.Length);

        ChunkedConnection.WriteStart(pipe.Writer, total);
        foreach (var frame in frames)
        {
            pipe.Writer.Write(frame);
        }

        ChunkedConnection.WriteEnd(pipe.Writer);
        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();

        var expected = Encoding.ASCII.GetBytes(total.ToString("x", CultureInfo.InvariantCulture) + "\r\n").Concat(frames.SelectMany(f => f)).Concat("\r\n"u8.ToArray());
        Assert.Equal(expected, await ReadAllAsync(pipe.Reader));
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        using var bound = new CancellationTokenSource(Wait.Default);
        while (true)
        {
            var read = await reader.ReadAsync(bound.Token);
            if (read.IsCompleted)
            {
                var all = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return all;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>A pool of fixed-size blocks, as Kestrel's is: nothing larger comes from it.</summary>
    private sealed class BlockPool(int blockSize) : MemoryPool<byte>
    {
        public override int MaxBufferSize => blockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) =>
            minBufferSize <= blockSize ? new Block(new byte[blockSize]) : throw new ArgumentOutOfRangeException(nameof(minBufferSize));

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(byte[] bytes) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory => bytes;

            public void Dispose()
            {
            }
        }
    }
}
