using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using SseChat.Web.Tests.Delivery;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// An instance of the local cluster (Redis + 3 instances + nginx) dies or is stopped while messages flow: its clients
/// reconnect through the balancer, resume with Last-Event-ID, and miss nothing.
/// </summary>
public sealed class FailoverTests
{
    /// <summary>The bound we promise for a SIGTERM: Chat:ShutdownTimeout (10 s) plus process start-up slack.</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(12);

    [Fact]
    public async Task Kill_9_of_an_instance_loses_no_message_for_its_clients()
    {
        await RunFailoverAsync(async (cluster, victim) =>
        {
            using var process = Process.GetProcessById(victim.Pid);
            process.Kill(); // SIGKILL: no farewell, the connections just break
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(exited.Token);
        }, expectFarewell: false);
    }

    [Fact]
    public async Task Sigterm_tells_streams_to_reconnect_exits_in_bounded_time_and_loses_no_message()
    {
        await RunFailoverAsync(async (cluster, victim) =>
        {
            var stopped = Stopwatch.StartNew();
            await ExternalTool.SendSigtermAsync(victim.Pid);
            await Wait.UntilAsync(() => Task.FromResult(!victim.IsRunning), ExitBound, $"{victim.Name} to exit after SIGTERM");
            Assert.True(stopped.Elapsed < ExitBound, $"{victim.Name} took {stopped.Elapsed} to exit");
        }, expectFarewell: true);
    }

    private static async Task RunFailoverAsync(Func<LocalCluster, RecordedProcess, Task> stopVictim, bool expectFarewell)
    {
        await using var cluster = await LocalCluster.UpAsync(3);
        var lb = cluster.BalancerAddress;
        using var browser = new ChatBrowser();
        var clients = new List<ResumingSseClient>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                var client = new ResumingSseClient(browser.Client(lb));
                clients.Add(client);
                await client.WaitUntilAsync(c => c.Seen.Count > 0, $"client {i} connected", Wait.Default);
            }

            // The instance each client is on now: a first attempt that the balancer answered without an instance (one
            // not ready yet) has no name, and the client is elsewhere since.
            var victimName = clients[0].Instances[^1];
            var victim = cluster.Recorded.SingleOrDefault(p => p.Name == victimName);
            Assert.True(victim is not null, $"client 0 is on '{victimName}' (connections: {string.Join(", ", clients[0].Instances)}); recorded: {string.Join(", ", cluster.Recorded.Select(p => p.Name))}");
            var onVictim = clients.Where(c => c.Instances[^1] == victimName).ToArray();
            Assert.NotEmpty(onVictim);

            var acknowledged = new ConcurrentQueue<string>();
            using var stopPosting = new CancellationTokenSource();
            var page = await browser.GetPageAsync(lb);
            var publisher = Task.Run(async () =>
            {
                for (var i = 0; !stopPosting.IsCancellationRequested; i++)
                {
                    if (await PostWithRetriesAsync(browser, lb, page, $"f{i}"))
                    {
                        acknowledged.Enqueue($"f{i}");
                    }
                }
            });

            await Wait.UntilAsync(() => Task.FromResult(acknowledged.Count >= 30), TimeSpan.FromSeconds(30), "30 messages before the failure");
            await stopVictim(cluster, victim);
            var atFailure = acknowledged.Count;
            await Wait.UntilAsync(() => Task.FromResult(acknowledged.Count >= atFailure + 30), TimeSpan.FromSeconds(60), "30 messages after the failure");
            await stopPosting.CancelAsync();
            await publisher.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(await PostWithRetriesAsync(browser, lb, page, "the end"), "the last message was not accepted");

            foreach (var client in clients)
            {
                await client.WaitUntilAsync(c => c.Messages.Any(m => m.Data.Contains(">the end<", StringComparison.Ordinal)),
                    "the last message", TimeSpan.FromSeconds(60));
            }

            var reference = clients[0].Messages.Select(ChatModes.TextOf).ToArray();
            Assert.Equal(reference.Length, reference.Distinct().Count());
            Assert.Empty(acknowledged.Except(reference));
            foreach (var client in clients.Skip(1))
            {
                Assert.Equal(reference, client.Messages.Select(ChatModes.TextOf).ToArray());
            }

            foreach (var client in onVictim)
            {
                Assert.True(client.Instances.Count >= 2, "a client of the stopped instance did not reconnect");
                Assert.DoesNotContain(victimName, client.Instances.Skip(1));
                Assert.Equal(expectFarewell, client.Seen.Any(e => e.EventType == "reconnect"));
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>What a user does when a send fails: send the same form again (same client message id), a few times.</summary>
    private static async Task<bool> PostWithRetriesAsync(ChatBrowser browser, Uri lb, ChatPage page, string text)
    {
        var cmid = ResumeTests.Cmid();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                using var response = await browser.PostMessageAsync(lb, page, text, cmid: cmid);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }

                Assert.True((int)response.StatusCode is 502 or 503 or 504, $"{text}: unexpected {(int)response.StatusCode}");
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        return false;
    }
}
