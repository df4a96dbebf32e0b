namespace SseChat.Web.Bus;

/// <summary>
/// The room refuses new messages for a while (<see cref="IChatBus.RefuseMessagesAsync"/>): its readers fell behind
/// together. Nothing was appended; the same post, sent again later, is taken. What a user is told is decided where the
/// answer is made (ErrorResponses.Busy).
/// </summary>
public sealed class RoomBusyException : Exception
{
    public RoomBusyException(string message, Exception? inner) : base(message, inner) { }

    public RoomBusyException() : base("The room refuses new messages for a while.") { }

    public RoomBusyException(string message) : base(message) { }
}
