using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SseChat.Web.Bus;
using SseChat.Web.Tests.Infrastructure;

namespace SseChat.Web.Tests.Delivery;

/// <summary>
/// An overloaded room stays bounded: once its delivery on an instance is more than Chat:MaxDeliveryLag behind, that
/// instance answers new posts to it 503 "busy, send again" instead of letting the delay grow, and every post it
/// accepted is still delivered.
/// </summary>
public sealed class OverloadTests
{
    [Fact]
    public async Task Posts_to_a_room_whose_delivery_is_too_far_behind_are_refused_as_busy_and_nothing_accepted_is_lost()
    {
        var gate = new DispatchGate();
        using var app = new ChatAppFactory(new() { ["Chat:MaxDeliveryLag"] = "00:00:01" }, builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IChatBus>(sp => new GatedChatBus(sp.GetRequiredService<InProcessChatBus>(), gate))));
        using var browser = new ChatBrowser();
        var page = await browser.GetPageAsync(app.BaseAddress);
        await using var stream = await SseClient.ConnectAsync(browser.Client(app.BaseAddress));
        await stream.WaitForAsync(e => e.Kind == "user-joined", "own join notice"); // delivered before the gate closes

        // The room's delivery stops (as when its fan-out cannot keep up): what is posted waits.
        gate.Close();
        var accepted = new List<string>();
        HttpResponseMessage? busy = null;
        await Wait.UntilAsync(async () =>
        {
            var text = $"while behind {accepted.Count}";
            var response = await browser.PostMessageAsync(app.BaseAddress, page, text, cmid: ResumeTests.Cmid());
            if (response.StatusCode == HttpStatusCode.OK)
            {
                accepted.Add(text);
                response.Dispose();
                return false;
            }

            busy = response;
            return true;
        }, TimeSpan.FromSeconds(10), "a post refused as busy");

        using (busy)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy!.StatusCode);
            Assert.NotNull(busy.Headers.RetryAfter);
            Assert.Contains("Busy", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.NotEmpty(accepted); // the first posts came before the delay passed the bound

        // Delivery catches up: everything accepted arrives, the refused post never does, and posting works again.
        gate.Open();
        foreach (var text in accepted)
        {
            await stream.WaitForMessageAsync(text);
        }

        using var after = await browser.PostMessageAsync(app.BaseAddress, page, "caught up", cmid: ResumeTests.Cmid());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        await stream.WaitForMessageAsync("caught up");
        Assert.DoesNotContain(stream.Messages, e => e.Data.Contains($"while behind {accepted.Count}<", StringComparison.Ordinal));
    }
}
