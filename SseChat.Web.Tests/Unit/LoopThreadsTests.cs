using System.Threading.Channels;
using SseChat.Web.Bus;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// The room loops' own threads: what is posted runs there in order, a wait for a channel that another thread writes
/// comes back there (as a room loop's wait for pub/sub does), and nothing posted is lost once they stop.
/// </summary>
public sealed class LoopThreadsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Posted_work_runs_in_order_on_one_thread_of_its_own_with_its_context_current()
    {
        using var threads = new LoopThreads(2);
        var context = threads.Next();
        var ran = new List<(int Item, int Thread, bool PoolThread, bool ContextCurrent)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < 100; i++)
        {
            var item = i;
            context.Post(_ =>
            {
                ran.Add((item, Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread, SynchronizationContext.Current == context));
                if (item == 99)
                {
                    done.SetResult();
                }
            }, null);
        }

        await done.Task.WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(0, 100), ran.Select(r => r.Item));
        Assert.Single(ran.Select(r => r.Thread).Distinct());
        Assert.All(ran, r => Assert.False(r.PoolThread));
        Assert.All(ran, r => Assert.True(r.ContextCurrent));
        Assert.NotSame(context, threads.Next());
        Assert.Same(context, threads.Next()); // two threads, taken in turn
    }

    [Fact]
    public async Task A_wait_for_a_channel_written_by_another_thread_continues_on_the_loop_thread()
    {
        using var threads = new LoopThreads(1);
        var context = threads.Next();
        // As StackExchange.Redis's pub/sub queue is made: its writer never runs the reader's continuation itself.
        var channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = false });
        var loopThread = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var resumedOn = new TaskCompletionSource<(int Thread, int Value)>(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Post(async _ =>
        {
            loopThread.SetResult(Environment.CurrentManagedThreadId);
            var value = await channel.Reader.ReadAsync().ConfigureAwait(true);
            resumedOn.SetResult((Environment.CurrentManagedThreadId, value));
        }, null);

        var expected = await loopThread.Task.WaitAsync(Bound);
        Assert.True(await Task.Run(() => channel.Writer.TryWrite(42)).WaitAsync(Bound));
        var (thread, read) = await resumedOn.Task.WaitAsync(Bound);
        Assert.Equal(42, read);
        Assert.Equal(expected, thread);
    }

    [Fact]
    public async Task Work_posted_after_the_threads_stopped_still_runs()
    {
        var threads = new LoopThreads(1);
        var context = threads.Next();
        threads.Dispose();

        var ran = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Post(_ => ran.SetResult(Thread.CurrentThread.IsThreadPoolThread), null);
        Assert.True(await ran.Task.WaitAsync(Bound));
    }
}
