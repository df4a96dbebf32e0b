namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// Several real SseChat processes on one redis-server under a key prefix of their own (so tests sharing the server
/// keep their rooms apart), started together and all stopped on dispose, also when one of them fails to start.
/// </summary>
public sealed class AppCluster : IAsyncDisposable
{
    private AppCluster(AppProcess[] instances) => Instances = instances;

    public IReadOnlyList<AppProcess> Instances { get; }

    public static async Task<AppCluster> StartAsync(RedisServer redis, int count)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var settings = new Dictionary<string, string?>
        {
            ["Redis__Configuration"] = redis.Configuration,
            ["Redis__KeyPrefix"] = "t" + Guid.NewGuid().ToString("N")[..8],
        };
        var starting = Enumerable.Range(0, count).Select(_ => AppProcess.StartAsync(settings)).ToArray();
        try
        {
            return new AppCluster(await Task.WhenAll(starting));
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }
    }
}
