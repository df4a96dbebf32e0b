namespace SseChat.Web.Tests.Infrastructure;

/// <summary>Every wait in the tests is bounded: a hang becomes a failure with a message, never a stuck run.</summary>
internal static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    /// <summary>Polls a condition (for things that raise no event, e.g. a TCP port opening) until it holds or the time is up.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        Exception? last = null;
        while (!cts.IsCancellationRequested)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
#pragma warning disable CA1031 // the condition fails while the thing is not up yet; the last error is reported on timeout
            catch (Exception ex)
#pragma warning restore CA1031
            {
                last = ex;
            }

            try
            {
                await Task.Delay(50, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}." + (last is null ? "" : $" Last error: {last.Message}"));
    }
}
