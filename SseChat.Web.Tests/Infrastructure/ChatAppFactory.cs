using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// The app in-process (WebApplicationFactory) on a real Kestrel socket, with settings per test. No Redis unless a
/// test sets Redis:Configuration.
/// </summary>
public sealed class ChatAppFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IWebHostBuilder>? _configure;

    public ChatAppFactory(Dictionary<string, string?>? settings = null, Action<IWebHostBuilder>? configure = null)
    {
        _settings = settings ?? [];
        _configure = configure;
        // A loopback endpoint of Kestrel's own rather than UseKestrel(0): that form rewrites the server's addresses
        // after the app has started binding, and now and then loses the race ("IServerAddressesFeature.Addresses
        // cannot be modified after the server has started", dotnet/aspnetcore#67714).
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>The address Kestrel listens on (starts the server on first use).</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            return ClientOptions.BaseAddress;
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Redis:Configuration", "");
        foreach (var (key, value) in TestLimits.Settings)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        _configure?.Invoke(builder);
    }
}
