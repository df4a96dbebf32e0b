using System.Net.ServerSentEvents;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// An SSE reader that behaves like the browser's: when its stream ends or breaks, it reconnects after the server's
/// <c>retry:</c> hint (capped) and sends the last id it got as <c>Last-Event-ID</c>. It records every event and
/// every connection (which instance served it), so failover tests can check what a user would have seen.
/// </summary>
public sealed class ResumingSseClient : IAsyncDisposable
{
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<SseEvent> _seen = [];
    private readonly List<string?> _instances = [];
    private readonly SemaphoreSlim _changed = new(0);
    private readonly Task _loop;
    private string? _lastId;

    public ResumingSseClient(HttpClient http)
    {
        _http = http;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Every event received, across all connections, in order.</summary>
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

    public IReadOnlyList<SseEvent> Messages => Seen.Where(e => e.Kind == "message").ToArray();

    /// <summary>The instance (X-SseChat-Instance) that served each connection, in order.</summary>
    public IReadOnlyList<string?> Instances
    {
        get
        {
            lock (_seen)
            {
                return _instances.ToArray();
            }
        }
    }

    /// <summary>Waits until what was received satisfies the condition; fails after the timeout.</summary>
    public async Task WaitUntilAsync(Func<ResumingSseClient, bool> condition, string what, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition(this))
        {
            try
            {
                await _changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}. Connections: {string.Join(", ", Instances)}; messages: {Messages.Count}.");
            }
        }
    }

    private async Task LoopAsync()
    {
        var token = _cts.Token;
        while (!token.IsCancellationRequested)
        {
            var retry = TimeSpan.FromMilliseconds(250);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
                request.Headers.Accept.ParseAdd("text/event-stream");
                if (_lastId is not null)
                {
                    request.Headers.Add("Last-Event-ID", _lastId);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                if (response.IsSuccessStatusCode)
                {
                    lock (_seen)
                    {
                        _instances.Add(response.Headers.TryGetValues("X-SseChat-Instance", out var v) ? v.FirstOrDefault() : null);
                    }

                    var parser = SseParser.Create(await response.Content.ReadAsStreamAsync(token));
                    await foreach (var item in parser.EnumerateAsync(token))
                    {
                        if (!string.IsNullOrEmpty(item.EventId))
                        {
                            _lastId = item.EventId;
                        }

                        lock (_seen)
                        {
                            _seen.Add(new SseEvent(item.EventType, item.Data, item.EventId, item.ReconnectionInterval));
                        }

                        _changed.Release();
                    }

                    retry = parser.ReconnectionInterval;
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is OperationCanceledException && !token.IsCancellationRequested))
            {
                // The connection broke (an instance died): reconnect, as a browser does.
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Task.Delay(retry < MaxRetry ? retry : MaxRetry, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
        }

        _cts.Dispose();
        _changed.Dispose();
    }
}
