using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using SseChat.Web.Bus;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>One stream's pending frames and their writing, without a server: a pipe stands for the response.</summary>
public sealed class SseWriterTests
{
    [Fact]
    public async Task Frames_added_before_the_stream_is_live_are_written_when_it_goes_live_without_what_the_replay_sent()
    {
        var connection = new SseWriter(16);
        var pipe = new Pipe();
        Assert.True(connection.TryEnqueue(Frame("m1", 1)));
        Assert.True(connection.TryEnqueue(Frame("m2", 2)));
        connection.Flush(); // not live yet: nothing to write to
        Assert.False(pipe.Reader.TryRead(out _));

        connection.WritePreamble(pipe.Writer, Frame("m1", 1));
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);

        var read = await pipe.Reader.ReadAsync(stop.Token);
        Assert.Equal("m1\nm2\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
        pipe.Reader.AdvanceTo(read.Buffer.End);
        connection.Complete();
        await run.WaitAsync(stop.Token);
    }

    [Fact]
    public async Task A_stream_that_lets_its_capacity_pile_up_is_cut_off_and_a_stuck_flush_is_abandoned()
    {
        var connection = new SseWriter(16);
        // The client reads nothing: the pipe pauses the writer after 64 bytes, so the first flush never completes.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32));
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        connection.Deliver([Frame(new string('x', 100), 1)]);

        var accepted = 0;
        for (var i = 2; i < 100 && connection.TryEnqueue(Frame("y", i)); i++)
        {
            accepted++;
        }

        Assert.Equal(16, accepted);
        Assert.True(connection.Overflowed);
        // The stream ends although its flush could never complete: the flush was cancelled, the writer let go.
        await run.WaitAsync(stop.Token);
        Assert.False(stop.IsCancellationRequested, "the stream ended by itself, not by the test's timeout");
    }

    [Fact]
    public async Task Frames_waiting_behind_a_stuck_write_report_how_long_the_oldest_has_waited_until_it_is_written()
    {
        var time = new FakeTimeProvider();
        var connection = new SseWriter(16, time);
        // The client reads nothing yet: the first flush waits once 64 bytes are in the pipe.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32));
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        connection.Deliver([Frame(new string('x', 100), 1)]);
        Assert.Equal(TimeSpan.Zero, connection.WaitingFor); // written, its flush under way: nothing waits

        connection.Deliver([Frame("y", 2)]);
        time.Advance(TimeSpan.FromSeconds(2));
        connection.Deliver([Frame("z", 3)]);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(3), connection.WaitingFor); // frame 2, the oldest waiting

        // The client reads: the stuck flush completes, the waiting frames are written, nothing waits any more.
        var read = await pipe.Reader.ReadAsync(stop.Token);
        pipe.Reader.AdvanceTo(read.Buffer.End);
        await Wait.UntilAsync(() => Task.FromResult(connection.WaitingFor == TimeSpan.Zero), Wait.Default, "the waiting frames were written");
        connection.Complete();
        connection.Flush();
        await pipe.Reader.CompleteAsync();
        await run.WaitAsync(stop.Token);
    }

    [Fact]
    public async Task A_frame_delivered_to_an_idle_live_stream_is_written_and_flushed_at_once()
    {
        var connection = new SseWriter(16);
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);

        connection.Deliver([Frame("now", 1)]);
        Assert.True(pipe.Reader.TryRead(out var read), "flushed by Deliver itself");
        Assert.Equal("now\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
        pipe.Reader.AdvanceTo(read.Buffer.End);

        connection.Deliver([Frame("now", 1)]);
        Assert.False(pipe.Reader.TryRead(out _), "a message id already sent is not sent again");
        connection.Complete();
        await run.WaitAsync(stop.Token);
    }

    [Fact]
    public async Task A_single_frame_goes_out_in_one_write_that_flushes_and_several_in_writes_and_one_flush()
    {
        var connection = new SseWriter(16);
        var pipe = new Pipe();
        var output = new CountingWriter(pipe.Writer);
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(output, stop.Token);

        // One frame: one call, which Kestrel turns into one chunk and a flush (no span lent and advanced first).
        connection.Deliver([Frame("one", 1)]);
        Assert.Equal((Writes: 1, Spans: 0, Flushes: 0), (output.Writes, output.Spans, output.Flushes));

        // Frames together: each written into the pipe, then one flush for them all.
        connection.Deliver([Frame("two", 2), Frame("three", 3)]);
        Assert.Equal((Writes: 1, Spans: 2, Flushes: 1), (output.Writes, output.Spans, output.Flushes));

        var read = await pipe.Reader.ReadAsync(stop.Token);
        Assert.Equal("one\ntwo\nthree\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
        pipe.Reader.AdvanceTo(read.Buffer.End);
        connection.Complete();
        await run.WaitAsync(stop.Token);
    }

    [Fact]
    public async Task Written_onto_the_connection_what_goes_out_in_one_write_is_one_HTTP_chunk()
    {
        var connection = new SseWriter(16);
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token, chunks: true);

        connection.Deliver([Frame("one", 1)]);
        Assert.Equal("4\r\none\n\r\n", await ReadAsync(pipe.Reader, stop.Token));

        connection.Deliver([Frame("two", 2), Frame("three", 3)]);
        Assert.Equal("a\r\ntwo\nthree\n\r\n", await ReadAsync(pipe.Reader, stop.Token));

        // Gathered while no write was under way: one chunk of what the client is still to see.
        Assert.True(connection.TryEnqueue(Frame(new string('x', 20), 4)));
        Assert.True(connection.TryEnqueue(Frame("two", 2))); // already sent: dropped
        Assert.True(connection.TryEnqueue(Frame("five", 5)));
        connection.Flush();
        Assert.Equal($"1a\r\n{new string('x', 20)}\nfive\n\r\n", await ReadAsync(pipe.Reader, stop.Token));

        Assert.True(connection.TryEnqueue(Frame("three", 3)));
        connection.Flush(); // nothing the client is still to see: no empty chunk (which would end the response)
        connection.Deliver([Frame("six", 6)]);
        Assert.Equal("4\r\nsix\n\r\n", await ReadAsync(pipe.Reader, stop.Token));
        connection.Complete();
        await run.WaitAsync(stop.Token);
    }

    [Fact]
    public async Task A_live_stream_whose_oldest_frame_has_waited_longer_than_the_stall_bound_is_cut_off_as_too_slow()
    {
        var time = new FakeTimeProvider();
        var bound = TimeSpan.FromSeconds(15);
        var connection = new SseWriter(100_000, time);
        Assert.True(connection.TryEnqueue(Frame("before", 1)));
        time.Advance(bound * 2);
        Assert.False(connection.CutIfStalled(bound), "not live yet: the preamble's own writes are timed by the server");

        // The client reads nothing: the first flush waits once 64 bytes are in the pipe.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32));
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        connection.Deliver([Frame(new string('x', 100), 2)]);
        Assert.False(connection.CutIfStalled(bound), "its flush waits, but no frame does");

        connection.Deliver([Frame("y", 3)]);
        time.Advance(bound);
        Assert.False(connection.CutIfStalled(bound));
        Assert.False(run.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(connection.CutIfStalled(bound));
        Assert.True(connection.Overflowed);
        Assert.False(connection.CutIfStalled(bound), "cut once");

        // The stream ends although its flush could never complete.
        await run.WaitAsync(stop.Token);
        Assert.False(stop.IsCancellationRequested, "the stream ended by itself, not by the test's timeout");
    }

    [Fact]
    public async Task Complete_ends_the_stream_after_every_pending_frame_was_written_and_nothing_is_written_after()
    {
        var connection = new SseWriter(16);
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        Assert.True(connection.TryEnqueue(Frame("last", 1)));
        connection.Complete();
        connection.Flush();
        await run.WaitAsync(stop.Token);

        Assert.False(connection.TryEnqueue(Frame("late", 2)), "a completed stream takes no more frames");
        connection.Flush();
        var read = await pipe.Reader.ReadAsync(stop.Token);
        Assert.Equal("last\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
    }

    [Fact]
    public async Task A_stream_whose_client_left_stops_and_waits_for_its_writer_before_it_returns()
    {
        var connection = new SseWriter(1024);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32));
        using var client = new CancellationTokenSource();
        using var stop = new CancellationTokenSource(Wait.Default);
        var run = connection.RunAsync(pipe.Writer, client.Token);
        Assert.True(connection.TryEnqueue(Frame(new string('x', 100), 1)));
        connection.Flush(); // blocks on the full pipe

        await client.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(stop.Token));
        // The stream is over: nothing more reaches the pipe, which the server reuses.
        Assert.False(connection.TryEnqueue(Frame("after", 2)), "an ended stream takes no more frames");
        connection.Flush();
        var read = await pipe.Reader.ReadAsync(stop.Token);
        Assert.Equal(101, read.Buffer.Length);
    }

    private static async Task<string> ReadAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        var read = await reader.ReadAsync(cancellationToken);
        var text = Encoding.UTF8.GetString(read.Buffer.ToArray());
        reader.AdvanceTo(read.Buffer.End);
        return text;
    }

    private static SseFrame Frame(string text, long sequence) => new(Encoding.UTF8.GetBytes(text + "\n"), new LogId(1, sequence));

    /// <summary>A response's writer that counts how it is called: whole writes, spans lent, flushes.</summary>
    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        public int Writes { get; private set; }
        public int Spans { get; private set; }
        public int Flushes { get; private set; }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            Writes++;
            return inner.WriteAsync(source, cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            Spans++;
            return inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            Spans++;
            return inner.GetSpan(sizeHint);
        }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            return inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
