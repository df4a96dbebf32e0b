// GET /events: the headers and one ping event, then the response stays open until the client goes. This is what
// Kestrel itself holds per idle SSE stream, the floor under SseChat.Web's figure (load-tests/floors/floors.sh).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var ping = "event: ping\ndata: \n\n"u8.ToArray();
app.MapGet("/events", async (HttpContext context) =>
{
    context.Response.ContentType = "text/event-stream";
    await context.Response.Body.WriteAsync(ping, context.RequestAborted);
    await context.Response.Body.FlushAsync(context.RequestAborted);
    try
    {
        await Task.Delay(Timeout.Infinite, context.RequestAborted);
    }
    catch (OperationCanceledException)
    {
        // The client went away.
    }
});
await app.RunAsync();
