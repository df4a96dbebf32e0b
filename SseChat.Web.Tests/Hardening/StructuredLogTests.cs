using System.Text.Json;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Hardening;

/// <summary>With the JSON console formatter every log line is one JSON object that names the instance.</summary>
public sealed class StructuredLogTests
{
    [Fact]
    public async Task Json_logs_carry_the_instance_name_on_every_line()
    {
        await using (var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Logging__Console__FormatterName"] = "json",
            ["Instance__Name"] = "inst-7",
        }))
        {
            using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };
            using var notFound = await http.GetAsync("/nowhere");
            await Wait.UntilAsync(() => Task.FromResult(app.Output.Contains("Open http", StringComparison.Ordinal)), Wait.Default, "the start-up line");

            var lines = app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 3, app.Output);
            foreach (var line in lines)
            {
                using var json = JsonDocument.Parse(line);
                Assert.Equal("inst-7", json.RootElement.GetProperty("State").GetProperty("instance").GetString());
            }
        }
    }
}
