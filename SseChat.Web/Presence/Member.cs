namespace SseChat.Web.Presence;

/// <summary>The person behind a stream: the browser id (what presence counts), the nickname and the public tag.</summary>
public sealed record Member(string Id, string Nick, string Author)
{
    /// <summary>
    /// The member a request speaks for. A client without the cookies (curl, a test) is a new guest for this one
    /// stream; pages always set them first.
    /// </summary>
    public static Member From(HttpRequest request)
    {
        var id = Chat.BrowserId.Read(request) ?? Chat.BrowserId.New();
        return new Member(id, Chat.Nickname.Read(request) ?? Chat.Nickname.NewGuest(), Chat.BrowserId.AuthorTag(id));
    }
}
