using System.Text.Encodings.Web;
using Microsoft.Extensions.Options;
using SseChat.Web.Chat;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using SseChat.Web.Bus;

namespace SseChat.Web.Hosting;

/// <summary>
/// Readable error answers for everything that goes wrong before or outside a page handler: an htmx request gets
/// an out-of-band fragment for the form's error slot (so the form, and the text in it, stays as it is), a plain
/// request a small page. Never a stack trace.
/// </summary>
internal static class ErrorResponses
{
    /// <summary>A post the bus could not take (it may still have been stored just before Redis went away).</summary>
    public const string NotConfirmed =
        "Not confirmed: the chat server cannot reach its message store right now. Send again in a moment; a message is never posted twice.";

    /// <summary>A post refused because the room's messages are running late on this instance (an overload).</summary>
    public const string Busy = "Busy: this room's messages are running late. Send again in a moment; a message is never posted twice.";

    /// <summary>A stream or the history could not be read from the message store.</summary>
    public const string StoreUnreachable = "The chat server cannot reach its message store right now; try again in a moment.";

    /// <summary>A post whose antiforgery token is missing, stale or from elsewhere.</summary>
    public const string StaleForm = "This form has expired or did not come from this chat. Reload the page and send again.";

    /// <summary>A posted form the server could not read.</summary>
    public const string UnreadableForm = "The form could not be read (too many or malformed fields). Reload the page and try again.";

    /// <summary>How long a client should wait before it tries again after a 503 or a 429, unless the refusal says otherwise.</summary>
    public const int DefaultRetryAfterSeconds = 2;

    /// <summary>
    /// The one place that sets <c>Retry-After</c>: on an answer of <paramref name="status"/> 503 or 429 (by default after
    /// <see cref="DefaultRetryAfterSeconds"/>), or on any answer that names its own <paramref name="seconds"/>.
    /// </summary>
    public static void SetRetryAfter(HttpResponse response, int status, int? seconds = null)
    {
        if (seconds is not null || status is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests)
        {
            response.Headers.RetryAfter = (seconds ?? DefaultRetryAfterSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The id of the error slot inside the form that the request came from.</summary>
    public static string ErrorSlotFor(HttpRequest request) =>
        request.Path.StartsWithSegments("/nick", StringComparison.OrdinalIgnoreCase) ? "nick-error" : "form-error";

    public static string OutOfBandFragment(string slotId, string message) =>
        $"<div id=\"{slotId}\" class=\"form-error\" role=\"alert\" hx-swap-oob=\"true\">{HtmlEncoder.Default.Encode(message)}</div>";

    public static async Task WriteAsync(HttpContext context, int status, string message, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return;
        }

        response.Clear();
        response.StatusCode = status;
        SetRetryAfter(response, status, retryAfterSeconds);

        if (context.Request.IsHtmx())
        {
            response.ContentType = "text/html; charset=utf-8";
            await response.WriteAsync(OutOfBandFragment(ErrorSlotFor(context.Request), message), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var reason = ReasonPhrases.GetReasonPhrase(status);
        var encoded = HtmlEncoder.Default.Encode(message);
        response.ContentType = "text/html; charset=utf-8";
        await response.WriteAsync(
            $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{status} {reason} · SseChat</title><link rel="stylesheet" href="/css/site.css"></head>
            <body><main class="error-page"><h1>{status} {reason}</h1><p role="alert" class="form-error">{encoded}</p>
            <p><a href="/">Back to the chat</a></p></main></body></html>
            """,
            context.RequestAborted).ConfigureAwait(false);
    }

    public static int StatusFor(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        _ when IsBusUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// Redis could not be reached or refused the write, also where the framework wrapped the failure: Data Protection
    /// reports a key ring it could not read or write (<c>RedisKeyRing</c>) as a <c>CryptographicException</c>.
    /// </summary>
    private static bool IsBusUnavailable(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is BusUnavailableException)
            {
                return true;
            }
        }

        return false;
    }

    public static string MessageFor(int status, HttpContext context) => status switch
    {
        StatusCodes.Status413PayloadTooLarge =>
            $"The request is too large: at most {context.RequestServices.GetRequiredService<IOptions<ChatOptions>>().Value.MaxRequestBodyBytes:N0} bytes are accepted.",
        StatusCodes.Status503ServiceUnavailable => NotConfirmed,
        StatusCodes.Status404NotFound => "There is no such page in this chat.",
        >= 400 and < 500 => "The request could not be understood. Reload the page and try again.",
        _ => "Something went wrong on the server. Nothing was sent; try again.",
    };

    /// <summary>The body of the exception handler: the status from the exception, a readable message, no details.</summary>
    public static Task HandleExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var status = exception is null ? StatusCodes.Status500InternalServerError : StatusFor(exception);
        return WriteAsync(context, status, MessageFor(status, context));
    }
}
