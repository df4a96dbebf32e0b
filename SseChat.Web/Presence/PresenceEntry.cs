namespace SseChat.Web.Presence;

/// <param name="Announced">True when this entry announced "joined" (the person's first stream anywhere): the notice is
/// on its way to every stream of the room, this one included, and brings the list with it.</param>
/// <param name="Version">The room's presence version right after entering (0 when the store could not be reached).</param>
/// <param name="Snapshot">Who is in the room right after entering, when this entry did not announce; else null.</param>
public readonly record struct PresenceEntry(bool Announced, long Version, PresenceSnapshot? Snapshot);
