using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>Chat:InlineSends reaches Kestrel's socket transport (see ChatOptions.InlineSends for why it is on).</summary>
public sealed class InlineSendsTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    public async Task The_setting_decides_whether_Kestrel_sends_on_the_flushing_thread(string? setting, bool inline)
    {
        await using var app = new ChatAppFactory(setting is null ? null : new() { ["Chat:InlineSends"] = setting });
        using var client = app.CreateClient();

        // The page answers over the transport the option configured.
        using var page = await client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(inline, app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
    }
}
