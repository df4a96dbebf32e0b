using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// First in the app's pipeline (register it as an <see cref="IStartupFilter"/>): hands over the <see cref="HttpContext"/>
/// of the first <c>GET /events</c>, so a test can look at what an open stream holds.
/// </summary>
public sealed class StreamContextProbe : IStartupFilter
{
    private readonly TaskCompletionSource<HttpContext> _captured = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The stream's context, once its request reached the app.</summary>
    public Task<HttpContext> Context => _captured.Task;

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, inner) =>
        {
            if (context.Request.Path == "/events")
            {
                _captured.TrySetResult(context);
            }

            await inner(context);
        });
        next(app);
    };
}
