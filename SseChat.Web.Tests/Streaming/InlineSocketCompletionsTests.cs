using SseChat.Web.Hosting;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// SseChat turns on .NET's inline socket completions unless the environment says otherwise (see
/// InlineSocketCompletions for why). What shows that the socket engine took the setting, from outside the process:
/// inlining, it runs one event thread per core (".NET Sockets"); otherwise one per 30 cores, so one here.
/// </summary>
public sealed class InlineSocketCompletionsTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public async Task The_socket_engine_runs_completions_inline_unless_the_operator_said_no(string? variable, bool inline)
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            [InlineSocketCompletions.Variable] = variable, // null: not in the environment at all
        });

        var expected = inline ? Environment.ProcessorCount : Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0));
        Assert.Equal(expected, EventThreads(app.ProcessId));
    }

    private static int EventThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .Count(task => File.Exists(Path.Combine(task, "comm")) && File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");
}
