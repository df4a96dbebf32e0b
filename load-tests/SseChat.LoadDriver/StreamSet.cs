namespace SseChat.LoadDriver;

/// <summary>
/// All the run's SSE streams, one task each, spread round-robin over the instances. At most a given number are
/// being opened at a time (a stream counts as open at its first event); <see cref="AllSettled"/> completes when
/// every stream has opened or failed.
/// </summary>
internal sealed class StreamSet : IDisposable
{
    private readonly StreamReceiver[] _receivers;
    private readonly Task[] _tasks;
    private readonly SemaphoreSlim _opening;
    private readonly CancellationTokenSource _stop;
    private readonly TaskCompletionSource _allSettled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;

    public StreamSet(IReadOnlyList<Uri> events, int clients, int messageCount, int openConcurrency, bool browserHeaders, CancellationToken cancellationToken)
    {
        _receivers = new StreamReceiver[clients];
        for (var i = 0; i < clients; i++)
        {
            _receivers[i] = new StreamReceiver(i, events, i % events.Count, messageCount, browserHeaders);
        }

        _tasks = new Task[clients];
        _opening = new SemaphoreSlim(openConcurrency);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _pending = clients;
    }

    public IReadOnlyList<StreamReceiver> Receivers => _receivers;

    public Task AllSettled => _allSettled.Task;

    public int Settled => _receivers.Length - Volatile.Read(ref _pending);

    public int OpenCount
    {
        get
        {
            var n = 0;
            foreach (var r in _receivers)
            {
                if (r.Opened && r.Failure is null)
                {
                    n++;
                }
            }

            return n;
        }
    }

    /// <summary>Content events received by all streams (messages and notices of anyone).</summary>
    public long ContentEvents => Sum(static r => r.ContentEvents);

    /// <summary>Distinct messages of this run received, summed over the streams.</summary>
    public long Unique => Sum(static r => r.Unique);

    /// <summary>Streams currently delivering (connected and past their first event).</summary>
    public int ConnectedCount => _receivers.Count(static r => r.Connected);

    /// <param name="reconnection">given in fault runs: streams that end come back (see <see cref="StreamReceiver.RunAsync"/>).</param>
    public void Start(byte[] run, DeliveryLedger ledger, TimeSpan openTimeout, Reconnection? reconnection = null)
    {
        for (var i = 0; i < _receivers.Length; i++)
        {
            _tasks[i] = RunOneAsync(_receivers[i], run, ledger, openTimeout, reconnection);
        }
    }

    /// <summary>Closes every stream and waits (bounded) for their tasks to end.</summary>
    public async Task StopAsync(TimeSpan bound)
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_tasks.Where(t => t is not null)).WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            // A stream that does not notice its cancellation is left to end with the process.
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _opening.Dispose();
    }

    private long Sum(Func<StreamReceiver, long> field)
    {
        long n = 0;
        foreach (var r in _receivers)
        {
            n += field(r);
        }

        return n;
    }

    private async Task RunOneAsync(StreamReceiver receiver, byte[] run, DeliveryLedger ledger, TimeSpan openTimeout, Reconnection? reconnection)
    {
        try
        {
            await _opening.WaitAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            OnSettled();
            return;
        }

        var released = 0;
        void Opened()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                try
                {
                    _opening.Release();
                }
                catch (ObjectDisposedException)
                {
                    // A stream that settles after the run ended has nobody left to make room for.
                }

                OnSettled();
            }
        }

        await receiver.RunAsync(run, ledger, openTimeout, Opened, reconnection, _stop.Token);
    }

    private void OnSettled()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _allSettled.TrySetResult();
        }
    }
}
