using Microsoft.Extensions.Options;
using SseChat.Web.Bus;

namespace SseChat.Web.Hosting;

/// <summary>Builds and runs the app, and says where to open it.</summary>
public static class SseChatHost
{
    /// <summary>
    /// Builds the app, lets <paramref name="pipeline"/> set up its middleware and endpoints, and runs it. An invalid
    /// setting stops it at once with one line that names the setting (exit code 2) instead of a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(WebApplicationBuilder builder, Action<WebApplication> pipeline)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(pipeline);
        try
        {
            var app = builder.Build();
            pipeline(app);
            app.Lifetime.ApplicationStarted.Register(() => LogWhereToOpen(app));
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (IsInvalidConfiguration(ex))
        {
            await Console.Error.WriteLineAsync($"SseChat cannot start: invalid configuration. {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>
    /// A setting that failed validation, or one of the framework's own (<c>Logging:…</c>) that its binder could not
    /// convert while the host built its logging; either message names the setting.
    /// </summary>
    private static bool IsInvalidConfiguration(Exception ex) =>
        ex is OptionsValidationException
        || (ex is InvalidOperationException && ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal));

    private static void LogWhereToOpen(WebApplication app)
    {
        var redis = app.Services.GetRequiredService<IOptions<RedisOptions>>().Value;
        var mode = redis.Enabled ? $"Redis bus at {redis.ToConfigurationOptions().EndPoints.First()}" : "in-process bus (single instance; set Redis__Configuration to scale out)";
        foreach (var url in app.Urls)
        {
            HostingLog.Running(app.Logger, mode, url);
        }
    }
}
