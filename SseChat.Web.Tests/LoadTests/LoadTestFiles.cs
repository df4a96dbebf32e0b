using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>The repository's load-tests folder.</summary>
internal static class LoadTestFiles
{
    public static string Folder { get; } = Repository.PathOf("load-tests");

    public static string PathOf(string relative) => Path.Combine(Folder, relative);
}
