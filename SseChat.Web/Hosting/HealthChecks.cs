using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SseChat.Web.Hosting;

/// <summary>
/// <c>/healthz</c> (liveness: the process answers HTTP) and <c>/readyz</c> (readiness: it can carry messages,
/// i.e. its Redis bus answers PING; the in-process bus is always ready), for balancers, Docker and orchestrators.
/// Both answer a short plain-text status (200 Healthy / 503 Unhealthy) and never the HTML error page.
/// </summary>
public static class HealthChecks
{
    public const string LivenessPath = "/healthz";
    public const string ReadinessPath = "/readyz";
    private const string ReadyTag = "ready";

    public static IServiceCollection AddSseChatHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<BusHealthCheck>("bus", HealthStatus.Unhealthy, [ReadyTag], BusHealthCheck.Timeout);
        return services;
    }

    public static WebApplication MapSseChatHealthChecks(this WebApplication app)
    {
        // Liveness runs no check at all: a broken Redis must not get every instance restarted at once.
        app.MapHealthChecks(LivenessPath, new HealthCheckOptions { Predicate = _ => false })
            .WithMetadata(new SkipStatusCodePagesAttribute());
        app.MapHealthChecks(ReadinessPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) })
            .WithMetadata(new SkipStatusCodePagesAttribute());
        return app;
    }
}
