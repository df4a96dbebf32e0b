using System.Collections.Concurrent;
using System.Net;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// Redis (with AOF) is stopped and started again while publishers post on two instances: every POST that was
/// answered 2xx reaches every stream exactly once, in one order; every other POST was answered 503; none 500.
/// </summary>
public sealed class RedisOutageTests
{
    [Fact]
    public async Task A_redis_restart_loses_no_acknowledged_message_and_fails_the_others_with_503()
    {
        await using var redis = new RedisServer { AppendOnly = true };
        await redis.StartAsync();
        await using var instances = await Instances.StartAsync(2, redis.Configuration);
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(instances[0].BaseAddress);
        var streams = new List<SseClient>();
        var outcomes = new ConcurrentDictionary<string, HttpStatusCode>();
        // What an answer other than 200 or 503 said and which instance gave it, so a failure names its cause.
        var oddAnswers = new ConcurrentDictionary<string, string>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var stream = await SseClient.ConnectAsync(browser.Client(instances[i % 2].BaseAddress));
                streams.Add(stream);
                await stream.WaitForAsync(e => e.EventType == "ping", $"stream {i} open");
            }

            using var stopPosting = new CancellationTokenSource();
            var publishers = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
            {
                var target = instances[p].BaseAddress;
                for (var i = 0; !stopPosting.IsCancellationRequested; i++)
                {
                    var text = $"p{p}-{i}";
                    using var response = await browser.PostMessageAsync(target, page, text, cmid: ResumeTests.Cmid());
                    outcomes[text] = response.StatusCode;
                    if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable))
                    {
                        var body = await response.Content.ReadAsStringAsync();
                        oddAnswers[text] = $"via {target.Port}: {body[..Math.Min(body.Length, 300)]}";
                    }
                }
            })).ToArray();

            // Load before, during and after the outage; these delays are the scenario's durations, not synchronisation.
            await WaitForOutcomesAsync(outcomes, HttpStatusCode.OK, 40);
            await redis.StopAsync();
            await WaitForOutcomesAsync(outcomes, HttpStatusCode.ServiceUnavailable, 2);
            await Task.Delay(TimeSpan.FromSeconds(1));
            await redis.StartAsync();
            var okBefore = outcomes.Values.Count(s => s == HttpStatusCode.OK);
            await Wait.UntilAsync(() => Task.FromResult(outcomes.Values.Count(s => s == HttpStatusCode.OK) >= okBefore + 40),
                TimeSpan.FromSeconds(30), "40 more messages accepted after Redis came back");
            await stopPosting.CancelAsync();
            await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(30));

            var unexpected = outcomes.Where(o => o.Value is not (HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable)).ToArray();
            Assert.True(unexpected.Length == 0, "Unexpected answers: " + string.Join(", ", unexpected.Take(5).Select(o =>
                $"{o.Key}={(int)o.Value} ({oddAnswers.GetValueOrDefault(o.Key)})")) + $" ({unexpected.Length} in all)");
            var acknowledged = outcomes.Where(o => o.Value == HttpStatusCode.OK).Select(o => o.Key).ToHashSet();
            Assert.Contains(outcomes.Values, s => s == HttpStatusCode.ServiceUnavailable);

            // A last message through each instance: whatever was logged before it is delivered before it.
            foreach (var app in new[] { instances[0], instances[1] })
            {
                using var last = await browser.PostMessageAsync(app.BaseAddress, page, $"end via {app.Port}", cmid: ResumeTests.Cmid());
                Assert.Equal(HttpStatusCode.OK, last.StatusCode);
            }

            foreach (var stream in streams)
            {
                await stream.WaitUntilAsync(seen => seen.Count(e => e.Kind == "message" && e.Data.Contains(">end via ", StringComparison.Ordinal)) == 2,
                    "both end messages", TimeSpan.FromSeconds(30));
            }

            var reference = streams[0].Messages.Select(ChatModes.TextOf).ToArray();
            Assert.Equal(reference.Length, reference.Distinct().Count()); // nothing twice
            Assert.Empty(acknowledged.Except(reference)); // nothing acknowledged is missing
            foreach (var stream in streams.Skip(1))
            {
                Assert.Equal(reference, stream.Messages.Select(ChatModes.TextOf).ToArray());
            }
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    private static Task WaitForOutcomesAsync(ConcurrentDictionary<string, HttpStatusCode> outcomes, HttpStatusCode status, int count) =>
        Wait.UntilAsync(() => Task.FromResult(outcomes.Values.Count(s => s == status) >= count),
            TimeSpan.FromSeconds(30), $"{count} answers {(int)status}");
}
