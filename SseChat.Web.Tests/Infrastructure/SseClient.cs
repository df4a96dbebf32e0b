using System.Net.ServerSentEvents;
using System.Threading.Channels;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>One event as a client sees it, with the <c>retry:</c> hint it carried, if any.</summary>
public sealed record SseEvent(string EventType, string Data, string? Id, TimeSpan? Retry = null)
{
    /// <summary>The data-kind of the fragment's root element, or null for a control event.</summary>
    public string? Kind
    {
        get
        {
            const string marker = "data-kind=\"";
            var at = Data.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var start = at + marker.Length;
            return Data[start..Data.IndexOf('"', start)];
        }
    }
}

/// <summary>
/// Reads a real SSE stream with the framework's own parser (System.Net.ServerSentEvents.SseParser) and lets a
/// test await the event it expects, bounded by a timeout. Disposing it closes the connection.
/// </summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _cts = new();
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly List<SseEvent> _seen = [];
    private readonly Task _reader;
    private int _disposed;

    private SseClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = Task.Run(() => ReadAsync(body));
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Every event received so far, in order.</summary>
    public IReadOnlyList<SseEvent> Seen
    {
        get
        {
            lock (_seen)
            {
                return _seen.ToArray();
            }
        }
    }

    public static async Task<SseClient> ConnectAsync(HttpClient http, string path = "/events", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        configure?.Invoke(request);
        using var cts = new CancellationTokenSource(Wait.Default);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStreamAsync(cts.Token);
        return new SseClient(response, body);
    }

    /// <summary>The next event (from the unread ones, in order) that matches; fails after the timeout.</summary>
    public async Task<SseEvent> WaitForAsync(Func<SseEvent, bool> match, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        try
        {
            while (true)
            {
                var e = await _events.Reader.ReadAsync(cts.Token);
                if (match(e))
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No event matching '{what}' within {(timeout ?? Wait.Default).TotalSeconds:0.#} s. Seen: {string.Join(" | ", Seen.Select(s => $"[{s.EventType}#{s.Id}] {s.Data}"))}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The stream ended before an event matching '{what}'. Seen: {string.Join(" | ", Seen.Select(s => s.Data))}");
        }
    }

    /// <summary>Waits until what was received so far satisfies a condition (checked after every event); fails after the timeout.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<SseEvent>, bool> condition, string what, TimeSpan? timeout = null)
    {
        await WaitForAsync(_ => condition(Seen), what, timeout);
    }

    /// <summary>The chat messages received so far, in order.</summary>
    public IReadOnlyList<SseEvent> Messages => Seen.Where(e => e.Kind == "message").ToArray();

    public Task<SseEvent> WaitForMessageAsync(string text, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.Kind == "message" && e.Data.Contains(text, StringComparison.Ordinal), $"message containing {text}", timeout);

    private async Task ReadAsync(Stream body)
    {
        try
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(_cts.Token))
            {
                var e = new SseEvent(item.EventType, item.Data, item.EventId, item.ReconnectionInterval);
                lock (_seen)
                {
                    _seen.Add(e);
                }

                _events.Writer.TryWrite(e);
            }

            _events.Writer.TryComplete();
        }
#pragma warning disable CA1031 // the stream ending (disposed, server gone) ends the event sequence
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _events.Writer.TryComplete(ex is OperationCanceledException ? null : ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _cts.CancelAsync();
        _response.Dispose();
        try
        {
            await _reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _cts.Dispose();
    }
}
