using System.Net;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>The self-service page in a real headless Chromium: the user's key in, their limits and usage out.</summary>
public sealed class SelfServicePageTests
{
    [Fact]
    public async Task Page_InHeadlessChromium_ShowsTheKeysLimitsAndTodaysUsage()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync("alice");
        using (var client = relay.Gateway.ClientFrom(1, key))
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            await MeteringTests.LedgerRow(relay, ok.Headers.GetValues("x-sluice-request-id").Single());
        }

        var dom = await Chromium.DumpDomAsync($"{relay.Gateway.BaseUrl}/sluice#key={key}");

        Assert.Contains("alice (sk-", dom, StringComparison.Ordinal);
        Assert.Contains("plan free", dom, StringComparison.Ordinal);
        Assert.Contains("<td>key</td><td>this key, all IPs</td><td class=\"num\">1 / 150</td><td class=\"num\">149</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>gpt-4o</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>gpt-4o-mini</td><td class=\"num\">1</td><td class=\"num\">9</td><td class=\"num\">8</td>", dom, StringComparison.Ordinal);
        Assert.DoesNotContain(id, dom, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_WithAWrongKey_ShowsTheServersMessage()
    {
        await using var relay = await RelayFixture.StartAsync();
        using (var client = relay.Gateway.ClientFrom(1))
        {
            using var page = await client.GetAsync("sluice");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        }

        var dom = await Chromium.DumpDomAsync($"{relay.Gateway.BaseUrl}/sluice#key=sk-wrongwrongwrongwrongwrong");

        Assert.Contains("Incorrect API key provided", dom, StringComparison.Ordinal);
    }
}
