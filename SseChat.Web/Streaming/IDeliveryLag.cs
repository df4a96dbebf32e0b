namespace SseChat.Web.Streaming;

/// <summary>How far behind this instance's delivery of a room's messages to its streams is.</summary>
public interface IDeliveryLag
{
    /// <summary>How long the oldest message of <paramref name="room"/> not yet handed to its streams here has waited; zero when none waits or the room has no stream here.</summary>
    TimeSpan InRoom(string room);
}
