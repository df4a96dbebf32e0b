namespace SseChat.Web.Hosting;

/// <summary>htmx request headers, read in one place (after Htmx.Net) instead of string checks in handlers.</summary>
public static class HtmxRequestExtensions
{
    /// <summary>True when htmx sent the request (header <c>HX-Request: true</c>).</summary>
    public static bool IsHtmx(this HttpRequest request) =>
        string.Equals(request.Headers["HX-Request"], "true", StringComparison.OrdinalIgnoreCase);
}
