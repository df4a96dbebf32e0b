using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// The balancer's configuration, rendered from deploy/nginx/sse-chat.conf.template as scripts/cluster.sh renders
/// it: nginx accepts it, it keeps SSE streams flowing and open, and it balances without stickiness.
/// </summary>
public sealed class NginxConfigTests
{
    private static readonly string[] Upstreams = ["127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003"];

    [Fact]
    public async Task Nginx_accepts_the_rendered_standalone_config()
    {
        var nginx = ExternalTool.Require("nginx", "nginx");
        var prefix = Directory.CreateTempSubdirectory("ssechat-nginx-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(prefix, "logs"));
            Directory.CreateDirectory(Path.Combine(prefix, "tmp"));
            var file = Path.Combine(prefix, "nginx.conf");
            await File.WriteAllTextAsync(file, await NginxConfig.RenderAsync(Upstreams, $"127.0.0.1:{Ports.FreeLoopbackPort()}", standalone: true));

            var test = await ExternalTool.RunAsync(nginx, ["-t", "-p", prefix + "/", "-c", file, "-e", Path.Combine(prefix, "logs", "error.log")], TimeSpan.FromSeconds(30));

            Assert.True(test.ExitCode == 0, $"nginx -t rejected the config: {test}");
            Assert.Contains("test is successful", test.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(prefix, recursive: true);
        }
    }

    [Fact]
    public async Task The_config_streams_events_unbuffered_and_uncompressed_over_HTTP_1_1_keep_alive()
    {
        var directives = NginxConfig.Parse(await NginxConfig.RenderAsync(Upstreams, "8080"));

        static bool In(NginxDirective d, string block) => d.IsIn(block);
        var events = directives.Where(d => In(d, "location ~ ^(/rooms/[a-z0-9-]+)?/events$")).ToArray();
        Assert.Contains(events, d => d is { Name: "proxy_pass", Arguments: ["http://ssechat"] });
        Assert.Contains(events, d => d is { Name: "proxy_buffering", Arguments: ["off"] });
        var readTimeout = NginxConfig.ParseTime(Assert.Single(events, d => d.Name == "proxy_read_timeout").Arguments[0]);
        Assert.True(readTimeout > TimeSpan.FromSeconds(15) * 4, $"proxy_read_timeout {readTimeout} is not well above the 15 s heartbeat");

        Assert.Contains(directives, d => d is { Name: "proxy_http_version", Arguments: ["1.1"] });
        Assert.Contains(directives, d => d is { Name: "proxy_set_header", Arguments: ["Connection", ""] });
        Assert.Contains(directives, d => d is { Name: "proxy_set_header", Arguments: ["X-Forwarded-For", "$proxy_add_x_forwarded_for"] });
        Assert.Contains(directives, d => d is { Name: "proxy_set_header", Arguments: ["X-Forwarded-Proto", "$scheme"] });
        Assert.Contains(directives, d => d is { Name: "gzip", Arguments: ["off"] });
        Assert.DoesNotContain(directives, d => d is { Name: "gzip", Arguments: ["on"] } || d.Name == "gzip_types");
        Assert.Contains(directives, d => d is { Name: "listen", Arguments: ["8080"] });

        // The stream location matches the lobby's and every room's stream, and nothing else.
        var pattern = new System.Text.RegularExpressions.Regex("^(/rooms/[a-z0-9-]+)?/events$");
        Assert.Matches(pattern, "/events");
        Assert.Matches(pattern, "/rooms/dev-ops/events");
        Assert.DoesNotMatch(pattern, "/events/x");
        Assert.DoesNotMatch(pattern, "/messages");

        // Metrics are not served to the public through the balancer.
        Assert.Contains(directives, d => d.IsIn("location = /metrics") && d is { Name: "return", Arguments: ["404"] });
    }

    [Fact]
    public async Task The_config_balances_round_robin_without_stickiness_and_never_resends_a_post()
    {
        var directives = NginxConfig.Parse(await NginxConfig.RenderAsync(Upstreams, "8080"));

        var upstream = directives.Where(d => d.IsIn("upstream ssechat")).ToArray();
        Assert.Equal(Upstreams, upstream.Where(d => d.Name == "server").Select(d => d.Arguments[0]));
        // Any of these would pin a client to one instance (or pick by a key): round robin is nginx's default.
        Assert.DoesNotContain(directives, d => d.Name is "ip_hash" or "hash" or "sticky" or "least_conn" or "random");
        var nextUpstream = Assert.Single(directives, d => d.Name == "proxy_next_upstream");
        Assert.DoesNotContain("non_idempotent", nextUpstream.Arguments);
    }
}
