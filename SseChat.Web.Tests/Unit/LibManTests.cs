using System.Text.Json;
using System.Text.RegularExpressions;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Unit;

/// <summary>
/// No CDN is reachable where we build, so the files LibMan lays out are committed. These tests keep the
/// committed files and the manifest in step.
/// </summary>
public sealed partial class LibManTests
{
    private static readonly string WebRoot = Repository.PathOf("SseChat.Web");

    public static TheoryData<string, string, string> ManifestFiles()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (library, destination, file) in Libraries())
        {
            data.Add(library, destination, file);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void Every_manifest_file_is_at_its_destination(string library, string destination, string file)
    {
        var path = Path.Combine(WebRoot, destination, file);
        Assert.True(File.Exists(path), $"{library}: {file} is missing at {path}");
        Assert.True(new FileInfo(path).Length > 0, $"{library}: {path} is empty");
    }

    [Fact]
    public void The_manifest_has_htmx_4_and_its_sse_extension()
    {
        var htmx = Assert.Single(Libraries().Select(l => l.Library).Distinct(), l => l.StartsWith("htmx.org@", StringComparison.Ordinal));
        Assert.StartsWith("htmx.org@4.0.", htmx, StringComparison.Ordinal);
        var files = Libraries().Where(l => l.Library == htmx).Select(l => l.File).ToArray();
        Assert.Contains("dist/htmx.min.js", files);
        Assert.Contains("dist/ext/hx-sse.min.js", files);
    }

    [Fact]
    public void The_version_in_the_manifest_is_the_version_in_the_files()
    {
        foreach (var group in Libraries().Where(l => l.Library.StartsWith("htmx.org@", StringComparison.Ordinal)).GroupBy(l => l.Library))
        {
            var version = group.Key["htmx.org@".Length..];
            foreach (var (_, destination, file) in group.Where(l => l.File is "dist/htmx.js" or "dist/htmx.min.js"))
            {
                var text = File.ReadAllText(Path.Combine(WebRoot, destination, file));
                var match = VersionAssignment().Match(text);
                Assert.True(match.Success, $"{file}: no version assignment found");
                Assert.Equal(version, match.Groups[1].Value);
            }

            // The extension has no version of its own; it must at least be the htmx 4 one (hx-sse:connect, not sse-connect).
            var sse = File.ReadAllText(Path.Combine(WebRoot, group.First().Destination, "dist/ext/hx-sse.js"));
            Assert.Contains("hx-sse:connect", sse, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_page_layout_references_files_the_manifest_lays_out()
    {
        var layout = File.ReadAllText(Path.Combine(WebRoot, "Pages", "Shared", "_Layout.cshtml"));
        var laidOut = Libraries().Select(l => "~/" + Path.Combine(l.Destination.Replace("wwwroot/", "", StringComparison.Ordinal), l.File).Replace('\\', '/')).ToHashSet();
        var scripts = ScriptSource().Matches(layout).Select(m => m.Groups[1].Value).ToArray();
        // Libraries come from the manifest; the app's own scripts are files of its own under wwwroot/js.
        var libraries = scripts.Where(s => s.StartsWith("~/lib/", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(libraries);
        Assert.All(libraries, s => Assert.Contains(s, laidOut));
        Assert.All(scripts.Except(libraries), s =>
        {
            Assert.StartsWith("~/js/", s, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(WebRoot, "wwwroot", s[2..])), $"{s} is not in wwwroot");
        });
    }

    private static IEnumerable<(string Library, string Destination, string File)> Libraries()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(WebRoot, "libman.json")));
        foreach (var library in manifest.RootElement.GetProperty("libraries").EnumerateArray())
        {
            var name = library.GetProperty("library").GetString()!;
            var destination = library.GetProperty("destination").GetString()!;
            foreach (var file in library.GetProperty("files").EnumerateArray())
            {
                yield return (name, destination, file.GetString()!);
            }
        }
    }

    [GeneratedRegex(@"\.version\s*=\s*[""']([0-9][^""']*)[""']")]
    private static partial Regex VersionAssignment();

    [GeneratedRegex(@"<script src=""([^""]+)""")]
    private static partial Regex ScriptSource();
}
