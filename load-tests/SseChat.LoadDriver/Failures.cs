using System.Net.Http;
using System.Net.Sockets;

namespace SseChat.LoadDriver;

/// <summary>Short names for why a request failed, to count them by kind (e.g. "connection refused", "timeout").</summary>
internal static class Failures
{
    public static string Kind(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is OperationCanceledException)
        {
            return "timeout";
        }

        if (exception.GetBaseException() is SocketException socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.ConnectionReset => "connection reset",
                _ => $"socket {socket.SocketErrorCode}",
            };
        }

        var error = exception switch
        {
            HttpRequestException http => http.HttpRequestError,
            HttpIOException io => io.HttpRequestError,
            _ => HttpRequestError.Unknown,
        };
        return error switch
        {
            HttpRequestError.ResponseEnded => "response ended",
            HttpRequestError.ConnectionError => "connection error",
            HttpRequestError.Unknown => exception is IOException ? "connection broken" : exception.GetType().Name,
            _ => error.ToString(),
        };
    }
}
