using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// ASP.NET Core starts a trace Activity (and a log scope) for every request while its hosting log category is on, and
/// an open stream keeps them for its whole life. The shipped settings turn that category off (README, settings).
/// </summary>
public sealed class RequestActivityTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("Warning", true)]
    public async Task A_stream_carries_a_hosting_activity_only_when_the_hosting_log_is_turned_on(string? level, bool expected)
    {
        var probe = new StreamContextProbe();
        await using var app = new ChatAppFactory(
            level is null ? null : new() { ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = level },
            web => web.ConfigureServices(services => services.AddSingleton<IStartupFilter>(probe)));
        using var client = app.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        using var stream = await client.GetAsync(new Uri("/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(System.Net.HttpStatusCode.OK, stream.StatusCode);
        var context = await probe.Context.WaitAsync(timeout.Token);
        Assert.Equal(expected, context.Features.Get<IHttpActivityFeature>()?.Activity is not null);
    }
}
