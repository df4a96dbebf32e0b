namespace SseChat.Web.Streaming;

/// <summary>Whether this instance's delivery of a room's messages to its streams is running late.</summary>
public interface IDeliveryLag
{
    /// <summary>
    /// True when the room's messages reach its streams here more than <paramref name="bound"/> late: the oldest one not
    /// yet handed to the streams, or frames waiting that long in most of them, or several of them cut for falling too
    /// far behind within the reconnect delay and the bound. False when the room has no stream here.
    /// </summary>
    bool IsBehind(string room, TimeSpan bound);
}
