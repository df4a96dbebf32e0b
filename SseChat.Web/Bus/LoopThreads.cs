namespace SseChat.Web.Bus;

/// <summary>
/// The threads the room subscriptions' loops run on: one per core, each loop on one of them for its life. A loop waits
/// for pub/sub's next message on this thread's <see cref="SynchronizationContext"/>, so the message wakes this thread
/// directly (one wake-up) instead of going through the thread pool, whose worker, on taking the message, wakes a second
/// worker in case more work follows (.NET 10's <c>ThreadPoolWorkQueue.Dispatch</c>): at light load that second wake-up
/// came with every message on every instance. Written here because neither the framework nor a maintained library
/// offers a dedicated-thread context; it is a queue, a monitor and a thread.
/// </summary>
internal sealed class LoopThreads : IDisposable
{
    private readonly LoopThread[] _threads;
    private int _next = -1;

    public LoopThreads()
        : this(Environment.ProcessorCount)
    {
    }

    public LoopThreads(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new LoopThread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new LoopThread($"SseChat room loop {i + 1}");
        }
    }

    /// <summary>The context of the next thread, in turn: a room's loop keeps the one it was given.</summary>
    public SynchronizationContext Next() => _threads[(int)((uint)Interlocked.Increment(ref _next) % (uint)_threads.Length)];

    /// <summary>Lets the threads end once their queues are empty; work posted later runs on the thread pool.</summary>
    public void Dispose()
    {
        foreach (var thread in _threads)
        {
            thread.Stop();
        }
    }

    private sealed class LoopThread : SynchronizationContext
    {
        private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();
        // A monitor, not a Lock: the thread waits on it (Monitor.Wait) when its queue is empty.
        private readonly object _gate = new();
        private bool _stopping;

        public LoopThread(string name)
        {
            new Thread(Run) { IsBackground = true, Name = name }.Start();
        }

        public override void Post(SendOrPostCallback d, object? state)
        {
            lock (_gate)
            {
                if (!_stopping)
                {
                    _queue.Enqueue((d, state));
                    Monitor.Pulse(_gate); // wakes the thread if it waits; nothing to do (no system call) if it does not
                    return;
                }
            }

            // Stopped: what is still posted (the end of a loop that outlives the instance's shutdown) runs anyway.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Callback(s.State), (Callback: d, State: state), preferLocal: false);
        }

        public override SynchronizationContext CreateCopy() => this;

        public void Stop()
        {
            lock (_gate)
            {
                _stopping = true;
                Monitor.Pulse(_gate);
            }
        }

        private void Run()
        {
            SetSynchronizationContext(this);
            while (true)
            {
                (SendOrPostCallback Callback, object? State) next;
                lock (_gate)
                {
                    while (!_queue.TryDequeue(out next))
                    {
                        if (_stopping)
                        {
                            return;
                        }

                        Monitor.Wait(_gate);
                    }
                }

                // An exception here ends the process, as one on a thread-pool thread would.
                next.Callback(next.State);
            }
        }
    }
}
