using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// Makes the first Data Protection key of an empty shared key ring once, for every instance. Instances that start
/// together on an empty ring each make a key of their own otherwise (3 of 5 pairs started at once did), and until one
/// reads the other's from Redis it refuses the other's forms as expired: a post answered 400. Before anything else
/// starts (the framework's own key ring start-up included), each instance takes a short Redis lock and makes a key
/// only when the ring holds none in force; the others wait for the lock and find that key. Rotation later is the
/// framework's, which makes the next key days before it is needed, so every instance has read it in time.
/// </summary>
internal sealed class FirstKeyOnce(
    IServiceProvider services, IOptions<RedisOptions> redisOptions, TimeProvider time, ILogger<FirstKeyOnce> logger) : IHostedLifecycleService
{
    /// <summary>How long the lock is held at most, and how long an instance waits for it before it goes on without.</summary>
    public static readonly TimeSpan LockFor = TimeSpan.FromSeconds(10);

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!redisOptions.Value.Enabled)
        {
            return;
        }

        var database = services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var lockKey = services.GetRequiredService<RedisKeys>().DataProtectionKeys.Append(":first");
        var token = (RedisValue)Guid.NewGuid().ToString("N");
        try
        {
            var started = time.GetTimestamp();
            while (!await database.LockTakeAsync(lockKey, token, LockFor).ConfigureAwait(false))
            {
                if (time.GetElapsedTime(started) > LockFor)
                {
                    BusLog.FirstKeyNotChecked(logger, "another instance held the lock too long", null);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var keys = services.GetRequiredService<IKeyManager>();
                var now = time.GetUtcNow();
                if (!keys.GetAllKeys().Any(k => !k.IsRevoked && k.ActivationDate <= now && k.ExpirationDate > now))
                {
                    var lifetime = services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.NewKeyLifetime;
                    var made = keys.CreateNewKey(now, now + lifetime);
                    BusLog.FirstKeyMade(logger, made.KeyId);
                }
            }
            finally
            {
                await database.LockReleaseAsync(lockKey, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or BusUnavailableException)
        {
            BusLog.FirstKeyNotChecked(logger, "Redis is unavailable", ex);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
