using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Presence;

/// <summary>
/// Keeps presence honest on every instance: renews this instance's holds every third of <c>Chat:PresenceExpiry</c>
/// (so two renewals may fail before a hold expires), and every quarter of it sweeps the holds that expired — those
/// of an instance that died — so its people are announced as left by the survivors within about 1.25 times the
/// expiry. Every instance sweeps; the store makes sure each person is announced once.
/// </summary>
internal sealed class PresenceMaintenance(
    PresenceTracker tracker, IPresenceStore store, IOptions<ChatOptions> options, TimeProvider time, ILogger<PresenceMaintenance> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var expiry = options.Value.PresenceExpiry;
        return Task.WhenAll(
            RepeatAsync("renew", expiry / 3, tracker.RenewAsync, stoppingToken),
            RepeatAsync("sweep", expiry / 4, ct => store.SweepAsync(tracker.Rooms, ct), stoppingToken));
    }

    private async Task RepeatAsync(string what, TimeSpan interval, Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await work(stoppingToken).ConfigureAwait(false);
                }
                catch (BusUnavailableException)
                {
                    // Redis is away: already logged by the store; the next tick tries again.
                }
#pragma warning disable CA1031 // one failed round must not end presence upkeep for the life of the process
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    PresenceLog.RoundFailed(logger, what, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
