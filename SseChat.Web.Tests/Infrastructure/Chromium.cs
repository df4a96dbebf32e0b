using Microsoft.Playwright;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// Real headless Chromium for the browser tests: Debian's <c>/usr/bin/chromium</c> (scripts/test.sh installs the
/// package when it is missing), driven by Playwright for .NET through the node driver that ships inside its NuGet
/// package. Nothing is downloaded: no browser of Playwright's own, no install step.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not started.");

    public async Task InitializeAsync()
    {
        var executable = ExternalTool.Require("chromium", "chromium");
        // Belt and braces: the driver never fetches a browser when launched with an executable path.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = executable,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>Where the browser tests leave their screenshots: TestResults/screenshots (kept out of git).</summary>
    public static string ScreenshotPath(string name)
    {
        var folder = Repository.PathOf("TestResults", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name + ".png");
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserGroup : ICollectionFixture<Chromium>, ICollectionFixture<RedisServer>
{
    public const string Name = "browser";
}
