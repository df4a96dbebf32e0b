using System.IO.Pipelines;
using SseChat.Web.Streaming;

namespace SseChat.Web.Tests.Unit;

/// <summary>A writer's whole live life in one call, as <c>StreamSession</c> runs it: go live, await the end, close.</summary>
internal static class SseWriterRun
{
    public static async Task RunAsync(this SseWriter writer, PipeWriter output, CancellationToken cancellationToken, bool chunks = false)
    {
        writer.GoLive(output, cancellationToken, chunks);
        try
        {
            await writer.Ended.ConfigureAwait(false);
        }
        finally
        {
            await writer.EndAsync().ConfigureAwait(false);
        }
    }
}
