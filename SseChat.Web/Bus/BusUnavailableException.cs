namespace SseChat.Web.Bus;

/// <summary>
/// The bus (or the presence store) could not do what was asked: Redis is unreachable, or answered too late, after the
/// resilience pipeline's retries. The message says what failed, for the log; what a user is told is decided where the
/// answer is made (ErrorResponses).
/// </summary>
public sealed class BusUnavailableException : Exception
{
    public BusUnavailableException(string message, Exception? inner = null) : base(message, inner) { }

    public BusUnavailableException() : base("The message bus is unavailable.") { }

    public BusUnavailableException(string message) : base(message) { }
}
