using System.Text.Json;
using System.Text.RegularExpressions;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Cluster;

/// <summary>
/// compose.yaml (as Compose reads it) and the Dockerfile, checked without a Docker engine: the shape of the
/// cluster, and that the balancer runs the very config scripts/cluster.sh runs.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string[] Instances = ["chat1", "chat2", "chat3"];

    [Fact]
    public async Task Compose_runs_Redis_with_an_append_only_file_three_instances_and_one_balancer()
    {
        var services = (await ComposeFile.LoadAsync()).GetProperty("services");

        // What `docker compose up` starts: the services of no profile (the Redis Cluster and Sentinel ones wait for theirs).
        Assert.Equal(["chat1", "chat2", "chat3", "lb", "redis"], services.EnumerateObject().Where(s => !s.Value.TryGetProperty("profiles", out _)).Select(s => s.Name).Order());

        var redis = services.GetProperty("redis");
        var command = Strings(redis.GetProperty("command"));
        Assert.Equal("yes", command[command.IndexOf("--appendonly") + 1]);
        Assert.Equal("everysec", command[command.IndexOf("--appendfsync") + 1]); // the shipped durability (README, "Guarantees")
        Assert.Contains(Strings(redis.GetProperty("volumes")), v => v.EndsWith(":/data", StringComparison.Ordinal) || v.Contains(":/data:", StringComparison.Ordinal));
        Assert.Equal(["CMD", "redis-cli", "ping"], Strings(redis.GetProperty("healthcheck").GetProperty("test")));

        foreach (var name in Instances)
        {
            var chat = services.GetProperty(name);
            Assert.Equal(Repository.Root, chat.GetProperty("build").GetProperty("context").GetString());
            Assert.Equal("redis:6379", chat.GetProperty("environment").GetProperty("Redis__Configuration").GetString());
            Assert.Equal("0", chat.GetProperty("environment").GetProperty("Redis__AckReplicas").GetString());
            Assert.Equal("service_healthy", chat.GetProperty("depends_on").GetProperty("redis").GetProperty("condition").GetString());
            Assert.Contains("/app/healthcheck.sh", Strings(chat.GetProperty("healthcheck").GetProperty("test")));
            Assert.False(chat.TryGetProperty("ports", out _), $"{name} publishes a port: all traffic goes through lb");
        }
    }

    [Theory]
    [InlineData("redis-cluster", "deploy/redis-cluster.env", 7)]
    [InlineData("sentinel", "deploy/sentinel.env", 5)]
    public async Task A_profile_adds_its_redis_and_its_env_file_points_the_instances_at_it_with_acknowledgement_by_a_replica(
        string profile, string envFile, int services)
    {
        var all = (await ComposeFile.LoadAsync(envFile)).GetProperty("services");
        var profiled = all.EnumerateObject().Where(s => s.Value.TryGetProperty("profiles", out var p) && Strings(p).Contains(profile)).ToArray();
        Assert.Equal(services, profiled.Length); // 6 nodes and the one-shot that joins them; a primary, a replica, 3 sentinels

        foreach (var name in Instances)
        {
            var environment = all.GetProperty(name).GetProperty("environment");
            var configuration = environment.GetProperty("Redis__Configuration").GetString()!;
            Assert.All(configuration.Split(',').Where(part => !part.Contains('=', StringComparison.Ordinal)),
                endpoint => Assert.Contains(profiled, s => s.Name == endpoint.Split(':')[0]));
            Assert.Equal("1", environment.GetProperty("Redis__AckReplicas").GetString());
        }

        if (profile == "redis-cluster")
        {
            var node = Strings(all.GetProperty("redis-node-1").GetProperty("command"));
            Assert.Equal("yes", node[node.IndexOf("--cluster-enabled") + 1]);
            Assert.Equal("2000", node[node.IndexOf("--cluster-node-timeout") + 1]);
            Assert.Contains("--cluster-replicas 1", string.Join(' ', Strings(all.GetProperty("redis-cluster-init").GetProperty("command"))), StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("serviceName=ssechat", all.GetProperty("chat1").GetProperty("environment").GetProperty("Redis__Configuration").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_balancer_publishes_one_port_and_renders_the_same_config_as_the_local_cluster()
    {
        var lb = (await ComposeFile.LoadAsync()).GetProperty("services").GetProperty("lb");

        var port = Assert.Single(lb.GetProperty("ports").EnumerateArray());
        Assert.Equal(80, port.GetProperty("target").GetInt32());
        Assert.Equal(Instances, lb.GetProperty("depends_on").EnumerateObject().Select(d => d.Name).Order());
        Assert.All(lb.GetProperty("depends_on").EnumerateObject(), d => Assert.Equal("service_healthy", d.Value.GetProperty("condition").GetString()));
        Assert.Contains(
            $"{Repository.PathOf(NginxConfig.TemplatePath)}:/etc/nginx/templates/default.conf.template:ro",
            Strings(lb.GetProperty("volumes")));

        // The nginx image substitutes every variable of its environment in the template: the template must refer to
        // no other (upper-case) ones than the two it is given. nginx's own variables are lower-case.
        var template = await File.ReadAllTextAsync(Repository.PathOf(NginxConfig.TemplatePath));
        var environment = lb.GetProperty("environment").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString()!);
        Assert.Equal(environment.Keys.Order(), EnvironmentReference().Matches(template).Select(m => m.Groups[1].Value).Distinct().Order());

        var renderedByImage = EnvironmentReference().Replace(template, m => environment[m.Groups[1].Value]);
        var renderedLocally = await NginxConfig.RenderAsync(Instances.Select(i => $"{i}:8080"), "80");
        Assert.Equal(renderedLocally, renderedByImage);
    }

    [Fact]
    public async Task The_Dockerfile_publishes_on_the_SDK_and_runs_on_the_runtime_image_as_a_non_root_user_with_a_healthcheck()
    {
        var lines = (await File.ReadAllLinesAsync(Repository.PathOf("Dockerfile")))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, stages.Length);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", stages[0], StringComparison.Ordinal);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", stages[1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal));

        var runtime = lines.SkipWhile(l => l != stages[1]).ToArray();
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"^USER\s+(root|0)\b", user);
        Assert.Contains(runtime, l => l.Contains("/app/healthcheck.sh", StringComparison.Ordinal) && l.Contains("/healthz", StringComparison.Ordinal));
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"SseChat.Web.dll\"]", runtime);

        // The build context is an allow-list (.dockerignore): whatever the Dockerfile copies from it must be on it.
        var allowed = (await File.ReadAllLinesAsync(Repository.PathOf(".dockerignore")))
            .Where(l => l.StartsWith('!')).Select(l => l[1..]).ToArray();
        var copied = lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]).ToArray();
        Assert.NotEmpty(copied);
        Assert.All(copied, source =>
        {
            Assert.True(File.Exists(Repository.PathOf(source)) || Directory.Exists(Repository.PathOf(source)), $"{source} is missing");
            Assert.Contains(allowed, a => source.StartsWith(a, StringComparison.Ordinal));
        });
    }

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    /// <summary>$NAME or ${NAME} with an upper-case NAME, as envsubst reads them.</summary>
    [GeneratedRegex(@"\$\{?([A-Z_][A-Z0-9_]*)\}?")]
    private static partial Regex EnvironmentReference();
}
