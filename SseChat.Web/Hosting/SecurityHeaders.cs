using System.Net.Mime;
using SseChat.Web.Streaming;

namespace SseChat.Web.Hosting;

/// <summary>
/// Security headers on every response, set when it starts (so error answers carry them too); on a stream's path, set
/// at once (see the remarks). The page needs no inline script or style: htmx and the app's own files come from
/// 'self', so the policy can be strict.
/// </summary>
/// <remarks>
/// An event stream is never rendered: it gets the policy for responses that are not documents (nothing may load,
/// nothing may frame it) and <c>nosniff</c>, not the headers that only a document obeys (X-Frame-Options, which
/// <c>frame-ancestors</c> replaces; Referrer-Policy; the opener and permissions policies). An open stream keeps its
/// response headers for its whole life, and Kestrel keeps the ones it has no field for in a dictionary per
/// response: eight of them grew it to 17 entries, about 0.6 KB per idle stream.
/// </remarks>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The policy of an event stream: it loads nothing and nothing frames it.</summary>
    public const string StreamContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";

    public static WebApplication UseSseChatSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (EventsEndpoint.IsStreamPath(context.Request.Path))
            {
                // Set now rather than from a callback at response start: Kestrel keeps the callbacks of a response (a
                // stack of them) until it ends, which for a stream is its whole life. Whatever a stream path answers
                // (the stream, or a refusal in plain text) gets the policy of a response that is not a document.
                SetStreamHeaders(context.Response.Headers);
                return next(context);
            }

            context.Response.OnStarting(static state =>
            {
                var response = ((HttpContext)state).Response;
                var headers = response.Headers;
                if (response.ContentType?.StartsWith(MediaTypeNames.Text.EventStream, StringComparison.OrdinalIgnoreCase) == true)
                {
                    SetStreamHeaders(headers);
                    return Task.CompletedTask;
                }

                headers.XContentTypeOptions = "nosniff";
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }

    private static void SetStreamHeaders(IHeaderDictionary headers)
    {
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = StreamContentSecurityPolicy;
    }
}
