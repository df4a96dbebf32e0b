namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// A test class with its own app (in-process, on a real Kestrel socket, <see cref="ChatAppFactory"/>) and a browser
/// for it; xunit makes one per test, and both are disposed after it.
/// </summary>
public abstract class ChatAppTests(Dictionary<string, string?>? settings = null) : IDisposable
{
    protected ChatAppFactory App { get; } = new(settings);

    protected ChatBrowser Browser { get; } = new();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Browser.Dispose();
            App.Dispose();
        }
    }
}
