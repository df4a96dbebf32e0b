using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SseChat.Web.Streaming;

namespace SseChat.Web.Hosting;

/// <summary>
/// Says which instance answered, in an <c>X-SseChat-Instance</c> response header: behind a round-robin balancer
/// that is what tells a reader of logs, curl output or a test where a request landed. The name is the setting
/// <c>Instance:Name</c>, or else the host name and the port the request came in on.
/// </summary>
public static class InstanceHeader
{
    public const string HeaderName = "X-SseChat-Instance";
    public const string SettingName = "Instance:Name";

    public static WebApplication UseSseChatInstanceHeader(this WebApplication app)
    {
        var configured = app.Configuration[SettingName];
        if (!string.IsNullOrEmpty(configured) && !configured.All(c => char.IsAscii(c) && !char.IsControl(c)))
        {
            // A header value must be ASCII: fail at start, naming the setting, rather than on every response.
            throw new OptionsValidationException(SettingName, typeof(string), [$"{SettingName} must be printable ASCII: '{configured}'."]);
        }

        app.Use((context, next) =>
        {
            if (EventsEndpoint.IsStreamPath(context.Request.Path))
            {
                // At once: a stream's answers do not clear their headers, and a callback would be kept for its whole life.
                context.Response.Headers[HeaderName] = Name(context, configured);
                return next(context);
            }

            // At response start, so that error answers (which clear the headers first) carry it too.
            context.Response.OnStarting(static state =>
            {
                var (context, configured) = ((HttpContext, string?))state;
                context.Response.Headers[HeaderName] = Name(context, configured);
                return Task.CompletedTask;
            }, (context, configured));
            return next(context);
        });
        return app;
    }

    // The connection feature, not HttpContext.Connection: that would make the request keep a wrapper for its whole life.
    private static string Name(HttpContext context, string? configured) => string.IsNullOrEmpty(configured)
        ? $"{Environment.MachineName}:{context.Features.GetRequiredFeature<IHttpConnectionFeature>().LocalPort}"
        : configured;
}
