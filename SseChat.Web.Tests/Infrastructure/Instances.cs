namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// Several real SseChat processes on one redis-server under a key prefix of their own (so tests sharing the server
/// keep their rooms apart), started together and all stopped on dispose, also when one of them fails to start.
/// </summary>
public sealed class Instances : IAsyncDisposable
{
    private readonly AppProcess[] _apps;

    private readonly Dictionary<string, string?> _settings;

    private Instances(AppProcess[] apps, string keyPrefix, Dictionary<string, string?> settings)
    {
        _apps = apps;
        KeyPrefix = keyPrefix;
        _settings = settings;
    }

    public AppProcess this[int index] => _apps[index];

    /// <summary>The Redis key prefix the group shares (tests look inside Redis under it).</summary>
    public string KeyPrefix { get; }

    public int Count => _apps.Length;

    public static async Task<Instances> StartAsync(int count, string redisConfiguration, Dictionary<string, string?>? extra = null)
    {
        var keyPrefix = RedisServer.NewKeyPrefix();
        var settings = new Dictionary<string, string?>(extra ?? [])
        {
            ["Redis__Configuration"] = redisConfiguration,
            ["Redis__KeyPrefix"] = keyPrefix,
        };
        var starting = Enumerable.Range(0, count).Select(_ => AppProcess.StartAsync(settings)).ToArray();
        try
        {
            return new Instances(await Task.WhenAll(starting), keyPrefix, settings);
        }
        catch
        {
            foreach (var t in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await t.Result.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// Starts instance <paramref name="index"/> again (after it was stopped or killed): same settings, same address, so
    /// its clients reconnect to it as they would to a restarted host.
    /// </summary>
    public async Task StartAgainAsync(int index)
    {
        var old = _apps[index];
        await old.DisposeAsync();
        _apps[index] = await AppProcess.StartAsync(_settings, old.Port);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }
}
