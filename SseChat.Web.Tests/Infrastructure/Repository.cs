namespace SseChat.Web.Tests.Infrastructure;

/// <summary>The repository the tests run from: the folder of SseChat.sln, found above the test assembly's folder.</summary>
internal static class Repository
{
    /// <summary>Where SseChat.sln, compose.yaml, deploy/, scripts/ and load-tests/ are.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path inside the repository, e.g. <c>PathOf("deploy", "healthcheck.sh")</c>.</summary>
    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SseChat.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SseChat.sln not found above {AppContext.BaseDirectory}.");
    }
}
