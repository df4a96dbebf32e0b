using Microsoft.AspNetCore.Mvc;

namespace SseChat.Web.Hosting;

/// <summary>A page handler's readable error answer: the same page or out-of-band fragment as every other error.</summary>
internal sealed class ErrorPageResult(int status, string message) : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context) => ErrorResponses.WriteAsync(context.HttpContext, status, message);
}
