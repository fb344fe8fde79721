using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// Balances and what users can ask about them: prepaid holds that never overdraw, top-ups and their history,
/// OpenAI's legacy billing endpoints as chat clients read them, and <c>/sluice/me</c>.
/// </summary>
public sealed class BillingTests
{
    /// <summary>A free plan (150/day) and a prepaid one where every token of gpt-4o-mini costs $0.001.</summary>
    private static Dictionary<string, string?> Plans() => new(RelayFixture.FreePlan(150))
    {
        ["Sluice:Plans:paid:Limits:0:Requests"] = "1000",
        ["Sluice:Plans:paid:Billing"] = "Prepaid",
        ["Sluice:Plans:paid:Prices:gpt-4o-mini:Input"] = "1000",
        ["Sluice:Plans:paid:Prices:gpt-4o-mini:Output"] = "1000",
    };

    private static StringContent Chat(int maxTokens) => new(
        $$"""{"model":"gpt-4o-mini","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"Say hello"}]}""", Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Prepaid_ManyConcurrentCalls_HoldsNeverOverdraw_AndSettleToActualCost()
    {
        await using var relay = await RelayFixture.StartAsync(Plans(), new FakeUpstream.FakeUpstreamOptions { Latency = TimeSpan.FromMilliseconds(500) });
        var (id, key) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();
        using (var credit = await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 0.10m, note = "first top-up" }))
        {
            var credited = await Json(credit);
            Assert.Equal(0.10m, credited.GetProperty("balance_usd").GetDecimal());
            Assert.Equal("paid", credited.GetProperty("plan").GetString());
            Assert.Equal("prepaid", credited.GetProperty("billing").GetString());
        }
        // Each call holds (9 prompt + 10 max completion tokens) × $0.001 = $0.019: five fit in $0.10, a sixth does not.
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var codes = new ConcurrentBag<string?>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 10), new ParallelOptions { MaxDegreeOfParallelism = 10 }, async (i, token) =>
        {
            using var client = relay.Gateway.ClientFrom(2 + (i % 3), key);
            using var response = await client.PostAsync("v1/chat/completions", Chat(10), token);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                codes.Add((await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
                // Refused because calls in flight hold the balance: a retry after they finish may fit, so the
                // libraries are left to retry.
                Assert.False(response.Headers.Contains("x-should-retry"));
            }
        });

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.All(codes, code => Assert.Equal("insufficient_quota", code));
        Assert.Equal(5, relay.Upstream.RequestCount);

        // Settled: each call actually cost (9 + 8) × $0.001 = $0.017.
        await relay.Gateway.Services.GetRequiredService<LedgerWriter>().FlushAsync(TimeSpan.FromSeconds(10));
        var balance = await WaitForHeld(admin, id, 0m);
        Assert.Equal(0.10m - (5 * 0.017m), balance.GetProperty("balance_usd").GetDecimal());
        var history = balance.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(5, history.Count(h => h.GetProperty("kind").GetString() == "usage" && h.GetProperty("amount_usd").GetDecimal() == -0.017m));
        Assert.Single(history, h => h.GetProperty("kind").GetString() == "credit" && h.GetProperty("note").GetString() == "first top-up");

        // $0.015 left is less than one more hold: refused, and the refusal is not counted as a request.
        using var poor = relay.Gateway.ClientFrom(2, key);
        using var refused = await poor.PostAsync("v1/chat/completions", Chat(10));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var message = (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString()!;
        Assert.Contains("$0.015", message, StringComparison.Ordinal);
        Assert.Contains("top up", message, StringComparison.Ordinal);
        // Nothing is held any more: no retry can fit until a top-up, and OpenAI's libraries are told so.
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        // A smaller max_tokens fits: (9 + 5) × $0.001 = $0.014.
        using var fits = await poor.PostAsync("v1/chat/completions", Chat(5));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    /// <summary>
    /// A prompt over 64 KB is counted only as far as the key's balance could pay for: a key with nothing left is
    /// refused without the gateway counting megabytes for it (about 0.3 s of CPU per MB), and is told the call costs
    /// more than it has. A key that can pay gets the whole prompt counted and held.
    /// </summary>
    [Fact]
    public async Task Prepaid_HugePrompt_IsCountedOnlyAsFarAsTheBalanceReaches()
    {
        await using var relay = await RelayFixture.StartAsync(Plans());
        var (emptyId, empty) = await relay.Gateway.CreateKeyAsync("empty", "paid");
        var (richId, rich) = await relay.Gateway.CreateKeyAsync("rich", "paid");
        using var admin = relay.Gateway.AdminClient();
        (await admin.PostAsJsonAsync($"admin/keys/{emptyId}/credit", new { amount_usd = 0.001m })).Dispose();
        (await admin.PostAsJsonAsync($"admin/keys/{richId}/credit", new { amount_usd = 500m })).Dispose();
        static StringContent Huge(int words) => new(
            $$"""{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"{{string.Join(' ', Enumerable.Repeat("hello", words))}}"}]}""",
            Encoding.UTF8, "application/json");

        using var poor = relay.Gateway.ClientFrom(2, empty);
        using var refused = await poor.PostAsync("v1/chat/completions", Huge(200_000)); // ~1.2 MB, 200,000 tokens

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("insufficient_quota", error.GetProperty("code").GetString());
        // $0.001 pays for one token at $1,000 per million: the count stopped just past it, far short of 200,000.
        Assert.Matches(@"can cost more than \$0\.00\d+ \(\d{1,2} or more prompt tokens", error.GetProperty("message").GetString());
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(emptyId));

        using var payer = relay.Gateway.ClientFrom(3, rich);
        using var admitted = await payer.PostAsync("v1/chat/completions", Huge(20_000)); // ~120 KB: over 64 KB, affordable
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Equal(1, relay.Upstream.RequestCount);
    }

    /// <summary>
    /// An upstream that reports nonsense usage (negative, or past any call's size) is not believed: the call is
    /// metered by the tokenizer as if it had reported none, its row lands in the ledger, and its hold settles. Before,
    /// a negative prompt failed the metering (no row, the hold kept for ever) and a negative completion credited the
    /// balance.
    /// </summary>
    [Theory]
    [InlineData("prompt_tokens=-1000000000", false)]
    [InlineData("completion_tokens=-600000000", false)]
    [InlineData("completion_tokens=-600000000", true)]
    [InlineData("prompt_tokens=99999999999999999999", false)]
    [InlineData("prompt_tokens=12.5", true)]
    [InlineData("prompt_tokens=5,cached_tokens=-3", false)]
    public async Task UpstreamUsageOutOfRange_IsNotBelieved_TheCallIsMeteredByTheTokenizer_AndItsHoldSettles(string reported, bool stream)
    {
        await using var relay = await RelayFixture.StartAsync(Plans());
        var (id, key) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();
        using (var credit = await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 1m }))
        {
            Assert.Equal(HttpStatusCode.OK, credit.StatusCode);
        }
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") 
        {
            Content = new StringContent(
                $$"""{"model":"gpt-4o-mini","max_tokens":20,"stream":{{(stream ? "true" : "false")}},{{(stream ? "\"stream_options\":{\"include_usage\":true}," : "")}}"messages":[{"role":"user","content":"Say hello"}]}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-fake-usage", reported);

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(reported.Split('=')[1].Split(',')[0], body, StringComparison.Ordinal);
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal(UsageSource.Tokenizer, row.Source);
        Assert.Equal(UsageOutcome.Completed, row.Outcome);
        Assert.InRange(row.PromptTokens, 1, 100);
        Assert.InRange(row.CompletionTokens, 1, 100);
        Assert.True(row.Cost > Money.Zero, row.Cost.ToString());
        var balance = await WaitForHeld(admin, id, 0m);
        Assert.Equal(1m - row.Cost.Usd, balance.GetProperty("balance_usd").GetDecimal());
    }

    /// <summary>
    /// A prepaid key pays for what it uses, so a model without a price is refused before anything is counted
    /// (before, it went through for free, even on an empty balance); a model the operator prices at zero goes
    /// through, and a model of the default table (o3) is charged.
    /// </summary>
    [Fact]
    public async Task Prepaid_ModelWithoutAPrice_IsRefused_UnlessTheOperatorPricesIt()
    {
        var plans = Plans();
        plans["Sluice:Plans:paid:Prices:house-model:Input"] = "0";
        plans["Sluice:Plans:paid:Prices:house-model:Output"] = "0";
        await using var relay = await RelayFixture.StartAsync(plans);
        var (id, key) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();
        using var client = relay.Gateway.ClientFrom(2, key);
        StringContent Ask(string model) => new(
            $$"""{"model":"{{model}}","max_tokens":10,"messages":[{"role":"user","content":"Say hello"}]}""", Encoding.UTF8, "application/json");

        using var unpriced = await client.PostAsync("v1/chat/completions", Ask("some-unpriced-model"));
        using var free = await client.PostAsync("v1/chat/completions", Ask("house-model"));
        using (await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 1m }))
        {
        }
        using var o3 = await client.PostAsync("v1/chat/completions", Ask("o3"));

        Assert.Equal(HttpStatusCode.Forbidden, unpriced.StatusCode);
        var error = await RelayFixture.ErrorOf(unpriced);
        Assert.Equal("model_not_allowed", error.GetProperty("code").GetString());
        Assert.Contains("has no price on the 'paid' plan", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, free.StatusCode);
        Assert.Equal(HttpStatusCode.OK, o3.StatusCode);
        Assert.Equal(2, relay.Upstream.RequestCount);
        Assert.Equal(2, await relay.UsedAsync(id));
        // o3 at $2 / $8 per million tokens: 9 prompt and 8 completion tokens.
        Assert.Equal(Money.FromUsd(0.000082m), (await MeteringTests.LedgerRow(relay, o3)).Cost);
    }

    [Fact]
    public async Task Credit_BadAmountOrUnknownKey_IsRefused()
    {
        await using var relay = await RelayFixture.StartAsync(Plans());
        var (id, _) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();

        using var negative = await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = -5 });
        using var missing = await admin.PostAsJsonAsync("admin/keys/key_nope/credit", new { amount_usd = 5 });
        using var belowANanodollar = await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 0.0000000001m });
        using var usageOfNoKey = await admin.GetAsync("admin/usage?key=key_nope&days=1");
        var (revokedId, _) = await relay.Gateway.CreateKeyAsync("gone", "paid");
        using (var revoke = await admin.DeleteAsync($"admin/keys/{revokedId}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }
        using var toRevoked = await admin.PostAsJsonAsync($"admin/keys/{revokedId}/credit", new { amount_usd = 5 });

        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal("amount_usd", (await RelayFixture.ErrorOf(negative)).GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, belowANanodollar.StatusCode);
        Assert.Equal("amount_usd", (await RelayFixture.ErrorOf(belowANanodollar)).GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, usageOfNoKey.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, toRevoked.StatusCode);
        Assert.Equal("key_revoked", (await RelayFixture.ErrorOf(toRevoked)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task FreeKey_BillingEndpoints_ShowUsageAsANegativeBalance_InOpenAIsShapes()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync("alice");
        using var client = relay.Gateway.ClientFrom(2, key);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            await MeteringTests.LedgerRow(relay, ok.Headers.GetValues("x-sluice-request-id").Single());
        }
        // Three gpt-4o-mini calls of 9 prompt and 8 completion tokens: 3 × 6,150 nanodollars = $0.00001845 = 0.001845 cents.
        var subscription = await Json(await client.GetAsync("v1/dashboard/billing/subscription"));
        Assert.Equal("billing_subscription", subscription.GetProperty("object").GetString());
        Assert.Equal(0m, subscription.GetProperty("hard_limit_usd").GetDecimal());
        Assert.Equal(0m, subscription.GetProperty("soft_limit_usd").GetDecimal());
        Assert.Equal(0m, subscription.GetProperty("system_hard_limit_usd").GetDecimal());
        Assert.False(subscription.GetProperty("has_payment_method").GetBoolean());
        Assert.Equal("free", subscription.GetProperty("plan").GetProperty("id").GetString());
        Assert.True(subscription.GetProperty("access_until").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        var today = DateTime.UtcNow.Date;
        var usage = await Json(await client.GetAsync(
            $"v1/dashboard/billing/usage?start_date={today.AddDays(-3):yyyy-MM-dd}&end_date={today.AddDays(1):yyyy-MM-dd}"));
        Assert.Equal("list", usage.GetProperty("object").GetString());
        Assert.Equal(0.001845m, usage.GetProperty("total_usage").GetDecimal());
        var day = Assert.Single(usage.GetProperty("daily_costs").EnumerateArray());
        Assert.Equal(new DateTimeOffset(today, TimeSpan.Zero).ToUnixTimeSeconds(), day.GetProperty("timestamp").GetDouble());
        var item = Assert.Single(day.GetProperty("line_items").EnumerateArray());
        Assert.Equal(("gpt-4o-mini", 0.001845m), (item.GetProperty("name").GetString(), item.GetProperty("cost").GetDecimal()));

        using var badDates = await client.GetAsync("v1/dashboard/billing/usage?start_date=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, badDates.StatusCode);
        await RelayFixture.ErrorOf(badDates);

        var me = await Json(await client.GetAsync("sluice/me"));
        Assert.Equal("free", me.GetProperty("balance").GetProperty("mode").GetString());
        Assert.Equal(-0.00001845m, me.GetProperty("balance").GetProperty("usd").GetDecimal());
        Assert.Equal("127.0.0.2", me.GetProperty("client_ip").GetString());
        var limits = me.GetProperty("limits").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        Assert.Equal((3, 150, 147), (limits["key"].GetProperty("used").GetInt32(), limits["key"].GetProperty("limit").GetInt32(), limits["key"].GetProperty("remaining").GetInt32()));
        Assert.Equal(3, limits["ip"].GetProperty("used").GetInt32());
        Assert.Equal("model", limits["mini"].GetProperty("scope").GetString());
        Assert.Equal((3, 200), (limits["mini"].GetProperty("used").GetInt32(), limits["mini"].GetProperty("limit").GetInt32()));
        Assert.Equal(0, limits["gpt-4o"].GetProperty("used").GetInt32());
        Assert.Equal(3, me.GetProperty("today").GetProperty("requests").GetInt64());
        var model = Assert.Single(me.GetProperty("today").GetProperty("models").EnumerateArray());
        Assert.Equal(("gpt-4o-mini", 27L, 24L), (model.GetProperty("model").GetString(), model.GetProperty("prompt_tokens").GetInt64(), model.GetProperty("completion_tokens").GetInt64()));

        // None of this was counted: still 147 left.
        using var after = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal("146", after.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task PrepaidKey_SubscriptionShowsWhatWasCredited()
    {
        await using var relay = await RelayFixture.StartAsync(Plans());
        var (id, key) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();
        (await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 2.5m })).Dispose();
        using var client = relay.Gateway.ClientFrom(2, key);
        using (var ok = await client.PostAsync("v1/chat/completions", Chat(10)))
        {
            await MeteringTests.LedgerRow(relay, ok.Headers.GetValues("x-sluice-request-id").Single());
        }

        var subscription = await Json(await client.GetAsync("v1/dashboard/billing/subscription"));
        var me = await Json(await client.GetAsync("sluice/me"));

        Assert.Equal(2.5m, subscription.GetProperty("hard_limit_usd").GetDecimal());
        Assert.True(subscription.GetProperty("has_payment_method").GetBoolean());
        Assert.Equal(2.5m - 0.017m, me.GetProperty("balance").GetProperty("usd").GetDecimal());
        Assert.Equal("prepaid", me.GetProperty("balance").GetProperty("mode").GetString());
    }

    [Fact]
    public async Task AdminUsage_PerKeyModelAndDay_WithTotals()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync("alice");
        using var client = relay.Gateway.ClientFrom(2, key);
        foreach (var model in new[] { "gpt-4o-mini", "gpt-4o-mini", "gpt-4o" })
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat(model));
            await MeteringTests.LedgerRow(relay, ok.Headers.GetValues("x-sluice-request-id").Single());
        }
        using var admin = relay.Gateway.AdminClient();

        var report = await Json(await admin.GetAsync($"admin/usage?key={id}&days=1"));

        var rows = report.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.GetProperty("day").GetString()));
        var mini = rows.Single(r => r.GetProperty("model").GetString() == "gpt-4o-mini");
        Assert.Equal((2L, 18L, 16L), (mini.GetProperty("requests").GetInt64(), mini.GetProperty("prompt_tokens").GetInt64(), mini.GetProperty("completion_tokens").GetInt64()));
        // gpt-4o: $2.50 / $10 per million: 9 × 2,500 + 8 × 10,000 nanodollars = $0.0001025.
        Assert.Equal(0.0001025m, rows.Single(r => r.GetProperty("model").GetString() == "gpt-4o").GetProperty("cost_usd").GetDecimal());
        Assert.Equal(3, report.GetProperty("totals").GetProperty("requests").GetInt64());
        var byKey = await Json(await admin.GetAsync("admin/usage?days=1&group_by=key"));
        var keyRow = Assert.Single(byKey.GetProperty("data").EnumerateArray(), r => r.GetProperty("key_id").GetString() == id);
        Assert.Equal(("*", "*", 3L), (keyRow.GetProperty("day").GetString(), keyRow.GetProperty("model").GetString(), keyRow.GetProperty("requests").GetInt64()));
        using var badGroup = await admin.GetAsync("admin/usage?group_by=planet");
        Assert.Equal(HttpStatusCode.BadRequest, badGroup.StatusCode);
        Assert.Equal(Money.FromUsd(0.0001025m + 0.0000123m).Usd, report.GetProperty("totals").GetProperty("cost_usd").GetDecimal());
    }

    private static async Task<JsonElement> WaitForHeld(HttpClient admin, string id, decimal held)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var balance = await Json(await admin.GetAsync($"admin/keys/{id}/balance"));
            if (balance.GetProperty("held_usd").GetDecimal() == held || DateTime.UtcNow > deadline)
            {
                Assert.Equal(held, balance.GetProperty("held_usd").GetDecimal());
                return balance;
            }
            await Task.Delay(50);
        }
    }
}
