using System.Net;
using System.Text.Json;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>A graceful restart keeps every key and every count.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task Restart_KeepsKeysAndExactCounts()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(3));
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        var (_, other) = await relay.Gateway.CreateKeyAsync("other");
        using (var client = relay.Gateway.ClientFrom(2, key))
        {
            for (var i = 0; i < 2; i++)
            {
                using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }
        }
        using (var client = relay.Gateway.ClientFrom(3, other))
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await relay.Gateway.RestartAsync();

        using var admin = relay.Gateway.AdminClient();
        using (var show = await admin.GetAsync($"admin/keys/{id}"))
        {
            using var json = JsonDocument.Parse(await show.Content.ReadAsStringAsync());
            var usage = json.RootElement.GetProperty("usage")[0];
            Assert.Equal(2, usage.GetProperty("used").GetInt32());
            Assert.Equal(3, usage.GetProperty("limit").GetInt32());
        }
        using var again = relay.Gateway.ClientFrom(2, key);
        using (var third = await again.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.OK, third.StatusCode);
            Assert.Equal("0", third.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }
        using var fourth = await again.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
        // The other key's IP count survived too: 127.0.0.3 has one request on it.
        using var otherAgain = relay.Gateway.ClientFrom(3, other);
        using var otherCall = await otherAgain.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal("1", otherCall.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }
}
