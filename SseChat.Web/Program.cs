using SseChat.Web.Hosting;
using SseChat.Web.Presence;
using SseChat.Web.Pages;

InlineSocketCompletions.UnlessSet();   // before the first socket opens: see the class

var builder = WebApplication.CreateBuilder(args);
builder.Services
    .AddSseChatOptions()            // "Chat" and "Redis", bound and validated at start
    .AddSseChatBus()                // Redis when Redis:Configuration is set, else in-process
    .AddSseChatPresence()
    .AddSseChatStreaming()          // room fan-outs, stream sessions, heartbeat, graceful shutdown
    .AddSseChatDataProtection()     // one key ring for every instance (in Redis), antiforgery cookies
    .AddSseChatServerLimits()       // request bodies, Kestrel's sends
    .AddSseChatLimits()             // rates and connections per person, address and instance
    .AddSseChatForwardedHeaders()   // trust the balancer's X-Forwarded-* from the configured networks only
    .AddSseChatPages()
    .AddSseChatHealthChecks();
builder.AddSseChatTelemetry();

return await SseChatHost.RunAsync(builder, app =>
{
    app.UseForwardedHeaders();              // first: the client's address and scheme as the balancer saw them
    app.UseSseChatSecurityHeaders();        // CSP and friends on every answer, errors included
    app.UseSseChatInstanceHeader();
    app.UseSseChatErrorHandling();          // readable errors, never a stack trace
    app.UseRouting();                       // the streams run here (MapSseChatStreams): none of what follows applies to them
    app.UseAuthentication();                // here, not before everything as the host would add them: no frame per stream
    app.UseAuthorization();
    app.UseSseChatPostLimits();             // posts per address and per person (429)
    app.UseSseChatRequestBodyGuard();       // 413/400 for oversized or malformed forms, before antiforgery reads them

    app.MapStaticAssets();
    app.MapRazorPages().WithStaticAssets();
    MessagesEndpoint.Map(app);              // posting a message: a route handler, see the class
    app.MapSseChatStreams();
    app.MapSseChatHealthChecks();
    app.MapSseChatTelemetry();
});

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
