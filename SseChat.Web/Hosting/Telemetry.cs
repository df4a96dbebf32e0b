using Microsoft.Extensions.Diagnostics.Enrichment;
using Microsoft.Extensions.Logging.Debug;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace SseChat.Web.Hosting;

/// <summary>
/// Metrics on <c>/metrics</c> (OpenTelemetry's Prometheus exporter) and the instance name on every log line (a
/// static log enricher). JSON logs are the framework's: <c>Logging__Console__FormatterName=json</c>.
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>The framework's setting for whether log scopes are kept; SseChat's default: only when the console's formatter prints them.</summary>
    public const string CaptureScopesSetting = "Logging:CaptureScopes";

    public static WebApplicationBuilder AddSseChatTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ChatMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("sse-chat"))
            .WithMetrics(metrics => metrics
            .AddMeter(ChatMetrics.MeterName)
            .AddPrometheusExporter());

        // The debug provider writes only to an attached debugger. It also counts as a scope logger of its own, so with
        // it every logging scope wraps three and needs an array for the third: Kestrel opens one per connection and
        // keeps it for the connection's life.
        foreach (var debug in builder.Services.Where(d => d.ImplementationType == typeof(DebugLoggerProvider)).ToList())
        {
            builder.Services.Remove(debug);
        }

        // Log scopes are kept only when a log line prints them, unless Logging:CaptureScopes (the framework's setting)
        // says otherwise. Kestrel opens one per connection whenever its logging is on, and keeping it sets an async-local
        // value: an execution context, a scope and a value map held for an open stream's whole life (0.17 KB of an idle
        // stream's 10.8 KB live) for lines that, by default, never show it.
        builder.Services.AddOptions<LoggerFilterOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            if (configuration[CaptureScopesSetting] is null)
            {
                options.CaptureScopes = configuration.GetValue<bool>("Logging:Console:FormatterOptions:IncludeScopes")
                    || configuration.GetValue<bool>("Logging:Console:IncludeScopes");
            }
        });

        builder.Logging.EnableEnrichment();
        builder.Services.AddStaticLogEnricher<InstanceLogEnricher>();
        return builder;
    }

    public static WebApplication MapSseChatTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    /// <summary>Adds "instance" (the Instance:Name setting, else host name and process id) to every log record.</summary>
    private sealed class InstanceLogEnricher(IConfiguration configuration) : IStaticLogEnricher
    {
        private readonly string _instance = configuration[InstanceHeader.SettingName] is { Length: > 0 } name
            ? name
            : $"{Environment.MachineName}/{Environment.ProcessId}";

        public void Enrich(IEnrichmentTagCollector collector) => collector.Add("instance", _instance);
    }
}
