namespace SseChat.Web.Presence;

/// <summary>A room with people in it, for the room list.</summary>
public sealed record RoomOccupancy(string Room, int People);
