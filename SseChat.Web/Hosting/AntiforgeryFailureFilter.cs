using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;
using Microsoft.AspNetCore.Mvc.Filters;

namespace SseChat.Web.Hosting;

/// <summary>
/// Razor Pages answer a failed antiforgery check with an empty 400; this turns it into a readable one.
/// </summary>
internal sealed class AntiforgeryFailureFilter : IAlwaysRunResultFilter
{
    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.Result = new ErrorPageResult(StatusCodes.Status400BadRequest, ErrorResponses.StaleForm);
        }
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
