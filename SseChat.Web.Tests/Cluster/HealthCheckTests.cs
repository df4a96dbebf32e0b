using System.Diagnostics;
using System.Globalization;
using System.Net;
using SseChat.Web.Hosting;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// /healthz (alive) and /readyz (can carry messages) on real processes, as a balancer, Docker or an orchestrator
/// probes them; and deploy/healthcheck.sh, the probe the Dockerfile and compose.yaml run.
/// </summary>
[Collection(RedisServerGroup.Name)]
public sealed class HealthCheckTests(RedisServer redis)
{
    [Fact]
    public async Task Both_answer_200_in_plain_text_with_Redis_up_naming_the_configured_instance()
    {
        await using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Redis__Configuration"] = redis.Configuration,
            ["Instance__Name"] = "chat-under-test",
        }, readyPath: HealthChecks.LivenessPath);
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };

        foreach (var path in new[] { HealthChecks.LivenessPath, HealthChecks.ReadinessPath })
        {
            using var response = await http.GetAsync(path);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
            Assert.Equal("chat-under-test", response.Instance());
        }
    }

    [Fact]
    public async Task Readiness_is_503_in_plain_text_and_liveness_200_when_the_configured_Redis_is_unreachable()
    {
        // A free port with nothing listening: connections are refused.
        await using var app = await AppProcess.StartAsync(
            new Dictionary<string, string?> { ["Redis__Configuration"] = $"127.0.0.1:{Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture)}" },
            readyPath: HealthChecks.LivenessPath);
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = Wait.Default };

        using var live = await http.GetAsync(HealthChecks.LivenessPath);
        var clock = Stopwatch.StartNew();
        using var ready = await http.GetAsync(HealthChecks.ReadinessPath);
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("text/plain", ready.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"/readyz took {clock.Elapsed.TotalSeconds:0.0} s");

        // The container probe says the same (Docker runs it as `bash /app/healthcheck.sh PATH`, port from the env).
        var port = app.Port.ToString(CultureInfo.InvariantCulture);
        var probeLive = await ExternalTool.RunScriptAsync("deploy/healthcheck.sh", [HealthChecks.LivenessPath], Wait.Default, new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = port });
        var probeReady = await ExternalTool.RunScriptAsync("deploy/healthcheck.sh", [HealthChecks.ReadinessPath, port], Wait.Default);
        Assert.Equal(0, probeLive.ExitCode);
        Assert.Equal(1, probeReady.ExitCode);
    }

    [Fact]
    public async Task The_in_process_bus_is_always_ready_and_the_instance_defaults_to_host_and_port()
    {
        await using var factory = new ChatAppFactory();
        using var http = new HttpClient { BaseAddress = factory.BaseAddress, Timeout = Wait.Default };

        using var response = await http.GetAsync(HealthChecks.ReadinessPath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        Assert.Equal($"{Environment.MachineName}:{factory.BaseAddress.Port.ToString(CultureInfo.InvariantCulture)}", response.Instance());
    }

    [Fact]
    public async Task A_probe_of_nothing_listening_fails()
    {
        var probe = await ExternalTool.RunScriptAsync("deploy/healthcheck.sh", [HealthChecks.LivenessPath, Ports.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture)], Wait.Default);

        Assert.Equal(1, probe.ExitCode);
        Assert.Equal("", probe.Error);
    }
}
