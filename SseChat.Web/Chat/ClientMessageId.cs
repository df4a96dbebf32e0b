namespace SseChat.Web.Chat;

/// <summary>
/// The id each rendered form carries with its message, so that a repeated POST of the same form (double click,
/// retry after a timeout, a retry inside the bus) is appended once.
/// </summary>
public static class ClientMessageId
{
    public const int MaxLength = 64;

    public static string New() => Guid.NewGuid().ToString("N");

    /// <summary>1–64 characters of letters, digits, '-' and '_': it becomes part of a Redis key.</summary>
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
