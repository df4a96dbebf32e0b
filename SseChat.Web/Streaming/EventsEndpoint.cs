using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Streaming;

/// <summary>
/// <c>GET /events</c>: the room's live stream. Opening it announces "joined" to the room on every instance,
/// closing it "left". The response starts at once (headers plus a <c>retry:</c> hint), so clients and
/// proxies see the stream open before the first message.
/// </summary>
internal static partial class EventsEndpoint
{
    public static async Task HandleAsync(
        HttpContext context,
        RoomHubs hubs,
        IChatBus bus,
        IOptions<ChatOptions> options,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        ILogger<StreamConnection> logger)
    {
        var settings = options.Value;
        var room = ChatOptions.Lobby;
        var nick = Nickname.Read(context.Request) ?? Nickname.NewGuest();
        var hub = hubs.Get(room);

        try
        {
            await hub.EnsureSubscribedAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (BusUnavailableException ex)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "2";
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(ex.Message, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted).ConfigureAwait(false);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var connection = new StreamConnection(nick, settings.StreamQueueCapacity);
        connection.TryEnqueue(await SseFrames.ControlAsync("ping", "", settings.ReconnectDelay).ConfigureAwait(false));
        hub.Add(connection);
        try
        {
            await AnnounceAsync(bus, logger, new ChatEvent(ChatEventKind.UserJoined, room, nick, "", time.GetUtcNow()), stop.Token).ConfigureAwait(false);
            await connection.PumpAsync(response.BodyWriter, stop.Token).ConfigureAwait(false);
            if (connection.Overflowed)
            {
                // The client is too far behind; it reconnects and resumes from its Last-Event-ID.
                context.Abort();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The client went away or the instance is stopping: a normal end of a stream.
        }
        finally
        {
            hub.Remove(connection);
            // Not tied to the request: it is already over, and the room must still hear that this reader left.
            await AnnounceAsync(bus, logger, new ChatEvent(ChatEventKind.UserLeft, room, nick, "", time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task AnnounceAsync(IChatBus bus, ILogger logger, ChatEvent notice, CancellationToken cancellationToken)
    {
        try
        {
            await bus.PublishNoticeAsync(notice, cancellationToken).ConfigureAwait(false);
        }
        catch (BusUnavailableException ex)
        {
            // Presence is best effort: a stream stays useful even when its notice could not be sent.
            NoticeLost(logger, notice.Kind, notice.Nick, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Kind} notice for {Nick} could not be published.")]
    private static partial void NoticeLost(ILogger logger, ChatEventKind kind, string nick, Exception exception);
}
