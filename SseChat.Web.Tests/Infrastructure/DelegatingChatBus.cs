using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>A bus that passes every call to another: a test double overrides only the call it changes.</summary>
internal abstract class DelegatingChatBus(IChatBus inner) : IChatBus
{
    public virtual Task<ChatEvent> PublishMessageAsync(ChatEvent message, CancellationToken cancellationToken) =>
        inner.PublishMessageAsync(message, cancellationToken);

    public virtual ValueTask RefuseMessagesAsync(string room, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.RefuseMessagesAsync(room, duration, cancellationToken);

    public virtual ValueTask PublishNoticeAsync(ChatEvent notice, CancellationToken cancellationToken) =>
        inner.PublishNoticeAsync(notice, cancellationToken);

    public virtual Task<IReadOnlyList<ChatEvent>> ReadRecentAsync(string room, int count, CancellationToken cancellationToken) =>
        inner.ReadRecentAsync(room, count, cancellationToken);

    public virtual Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken) =>
        inner.ReadAfterAsync(room, after, maxCount, cancellationToken);

    public virtual Task<IRoomSubscription> SubscribeAsync(string room, Action<IReadOnlyList<ChatEvent>> handler, CancellationToken cancellationToken) =>
        inner.SubscribeAsync(room, handler, cancellationToken);
}
