using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SseChat.Web.Bus;
using SseChat.Web.Hosting;
using SseChat.Web.Streaming;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Streaming;

/// <summary>
/// A stream runs outside the exception handler the pages have (so that an open stream keeps no frame of it): an
/// unexpected error before it starts must still get a readable answer, the headers every answer carries, and give its
/// place back.
/// </summary>
public sealed class StreamErrorTests
{
    [Fact]
    public async Task A_stream_that_fails_unexpectedly_before_it_starts_gets_a_readable_500_and_gives_its_place_back()
    {
        using var app = new ChatAppFactory(new() { ["Limits:StreamsPerAddress"] = "1" }, builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IChatBus>(sp => new ReplayFailingBus(sp.GetRequiredService<InProcessChatBus>()))));
        using var browser = new ChatBrowser();
        var http = browser.Client(app.BaseAddress);

        for (var i = 0; i < 3; i++)
        {
            using var resume = new HttpRequestMessage(HttpMethod.Get, "/events");
            resume.Headers.Add("Last-Event-ID", "1764234300000-0"); // a resume reads the log: the bus fails there
            using var failed = await http.SendAsync(resume);

            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Equal("text/plain", failed.Content.Headers.ContentType?.MediaType);
            Assert.Equal(EventsEndpoint.StreamFailed, await failed.Content.ReadAsStringAsync());
            Assert.Equal(SecurityHeaders.StreamContentSecurityPolicy, failed.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("nosniff", failed.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.NotEmpty(failed.Headers.GetValues(InstanceHeader.HeaderName).Single());
        }

        // One stream per address: it opens only if every failed one gave its place back.
        await using var stream = await SseClient.ConnectAsync(http);
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice");
    }

    private sealed class ReplayFailingBus(InProcessChatBus inner) : DelegatingChatBus(inner)
    {
        public override Task<LogRead> ReadAfterAsync(string room, LogId after, int maxCount, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug in reading the log");
    }
}
