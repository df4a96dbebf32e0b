using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>
/// With the JSON console formatter every log line is one JSON object that names the instance; log scopes are kept only
/// when a line prints them.
/// </summary>
public sealed class StructuredLogTests
{
    [Fact]
    public async Task Json_logs_carry_the_instance_name_on_every_line()
    {
        await using (var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Logging__Console__FormatterName"] = "json",
            ["Instance__Name"] = "inst-7",
        }))
        {
            using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };
            using var notFound = await http.GetAsync("/nowhere");
            await Wait.UntilAsync(() => Task.FromResult(app.Output.Contains("Open http", StringComparison.Ordinal)), Wait.Default, "the start-up line");

            var lines = app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 3, app.Output);
            foreach (var line in lines)
            {
                using var json = JsonDocument.Parse(line);
                Assert.Equal("inst-7", json.RootElement.GetProperty("State").GetProperty("instance").GetString());
            }
        }
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("Logging:Console:FormatterOptions:IncludeScopes", "true", true)]
    [InlineData("Logging:CaptureScopes", "true", true)]
    [InlineData("Logging:CaptureScopes", "false", false)]
    public void Log_scopes_are_kept_only_when_a_log_line_prints_them(string? setting, string? value, bool kept)
    {
        var recorder = new ScopeRecorder();
        using var app = new ChatAppFactory(
            setting is null ? null : new() { [setting] = value },
            web => web.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(recorder)));
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ScopeProbe");

        using (logger.BeginScope("connection 7"))
        {
            logger.Log(LogLevel.Warning, default, "inside the scope", null, (message, _) => message);
        }

        var line = Assert.Single(recorder.Lines, l => l.Message == "inside the scope");
        string?[] expected = kept ? ["connection 7"] : [];
        Assert.Equal(expected, line.Scopes);
    }

    /// <summary>A log provider that reads the scopes around each line, as the console formatter does.</summary>
    private sealed class ScopeRecorder : ILoggerProvider, ISupportExternalScope, ILogger
    {
        private IExternalScopeProvider? _scopes;

        public ConcurrentQueue<(string Message, List<string?> Scopes)> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string?>();
            _scopes?.ForEachScope((scope, list) => list.Add(scope?.ToString()), scopes);
            Lines.Enqueue((formatter(state, exception), scopes));
        }

        public void Dispose()
        {
        }
    }
}
