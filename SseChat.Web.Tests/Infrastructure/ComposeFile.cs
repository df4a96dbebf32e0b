using System.Text.Json;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// compose.yaml as Compose itself reads it: <c>docker-compose config</c> (v1, which needs no Docker engine)
/// validates it against the Compose schema and resolves anchors and merge keys; its normalised output is turned
/// into JSON by the interpreter docker-compose runs on, which has PyYAML at hand (a dependency of docker-compose),
/// so the tests need no YAML library of their own.
/// </summary>
internal static class ComposeFile
{
    /// <param name="envFile">an <c>--env-file</c> (e.g. deploy/redis-cluster.env) whose variables the file is read with.</param>
    public static async Task<JsonElement> LoadAsync(string? envFile = null)
    {
        var compose = ExternalTool.Require("docker-compose", "docker-compose");
        string[] arguments = ["-f", "compose.yaml", .. envFile is null ? Array.Empty<string>() : ["--env-file", envFile], "config"];
        var config = await ExternalTool.RunAsync(compose, arguments, TimeSpan.FromSeconds(60));
        if (config.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker-compose rejected compose.yaml: {config}");
        }

        var python = InterpreterOf(compose);
        var json = await ExternalTool.RunAsync(
            python[0],
            [.. python.Skip(1), "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
            TimeSpan.FromSeconds(30),
            input: config.Output);
        if (json.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', python)} could not turn the docker-compose output into JSON: {json}");
        }

        using var document = JsonDocument.Parse(json.Output);
        return document.RootElement.Clone();
    }

    /// <summary>The command line of a script's #! line, e.g. ["/usr/bin/python3"] or ["/usr/bin/env", "python3"].</summary>
    private static string[] InterpreterOf(string script)
    {
        var first = File.ReadLines(script).First();
        return first.StartsWith("#!", StringComparison.Ordinal)
            ? first[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : throw new InvalidOperationException($"{script} is not a script with a #! line; expected docker-compose v1 (apt package docker-compose).");
    }
}
