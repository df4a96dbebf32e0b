using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;
using Microsoft.AspNetCore.Mvc.Filters;

namespace SseChat.Web.Hosting;

/// <summary>
/// Razor Pages answer a failed antiforgery check with an empty 400; this turns it into a readable one.
/// </summary>
internal sealed class AntiforgeryFailureFilter : IAlwaysRunResultFilter
{
    public const string Message = "This form has expired or did not come from this chat. Reload the page and send again.";

    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.Result = new ErrorPageResult(StatusCodes.Status400BadRequest, Message);
        }
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
