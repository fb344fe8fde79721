using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sluice.Gateway.Tests.Functional;

public sealed class AdminApiTests
{
    [Fact]
    public async Task Keys_CreateListShowRevoke_NeverShowSecretsAfterCreation()
    {
        await using var relay = await RelayFixture.StartAsync();
        using var admin = relay.Gateway.AdminClient();

        using var created = await admin.PostAsJsonAsync("admin/keys", new { name = "alice", plan = "free" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdText = await created.Content.ReadAsStringAsync();
        using var createdJson = JsonDocument.Parse(createdText);
        var id = createdJson.RootElement.GetProperty("id").GetString()!;
        var secret = createdJson.RootElement.GetProperty("key").GetString()!;
        Assert.StartsWith("key_", id, StringComparison.Ordinal);
        Assert.Matches("^sk-[0-9A-Za-z]{48}$", secret);
        Assert.Equal("alice", createdJson.RootElement.GetProperty("name").GetString());
        Assert.Equal("free", createdJson.RootElement.GetProperty("plan").GetString());
        Assert.True(createdJson.RootElement.GetProperty("created").GetInt64() > 1_700_000_000);
        Assert.Equal($"/admin/keys/{id}", created.Headers.Location?.ToString());

        var list = await admin.GetStringAsync("admin/keys");
        Assert.Contains(id, list, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list, StringComparison.Ordinal);
        Assert.Contains(secret[..7] + "…" + secret[^4..], list, StringComparison.Ordinal);

        using (var client = relay.Gateway.ClientFrom(2, secret))
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var show = JsonDocument.Parse(await admin.GetStringAsync($"admin/keys/{id}")))
        {
            var usage = show.RootElement.GetProperty("usage")[0];
            Assert.Equal("key", usage.GetProperty("name").GetString());
            Assert.Equal(1, usage.GetProperty("used").GetInt32());
            Assert.Equal(150, usage.GetProperty("limit").GetInt32());
            Assert.Equal(149, usage.GetProperty("remaining").GetInt32());
            Assert.InRange(usage.GetProperty("reset_seconds").GetInt64(), 86_000, 86_400);
        }

        using var revoked = await admin.DeleteAsync($"admin/keys/{id}");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        using var revokedJson = JsonDocument.Parse(await revoked.Content.ReadAsStringAsync());
        Assert.NotEqual(JsonValueKind.Null, revokedJson.RootElement.GetProperty("revoked").ValueKind);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    public async Task Admin_WithoutTheToken_Is401(string? token)
    {
        await using var relay = await RelayFixture.StartAsync();
        using var client = relay.Gateway.ClientFrom(2, token);

        using var response = await client.GetAsync("admin/keys");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_admin_token", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("{\"plan\":\"free\"}", "name")]
    [InlineData("{\"name\":\"bob\",\"plan\":\"gold\"}", "plan")]
    [InlineData("not json", null)]
    [InlineData("{\"name\":\"a\\nb\\u001b[31m\"}", "name")]
    public async Task Create_BadRequest_Is400WithTheParam(string body, string? param)
    {
        await using var relay = await RelayFixture.StartAsync();
        using var admin = relay.Gateway.AdminClient();

        using var response = await admin.PostAsync("admin/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("GET", "nope", HttpStatusCode.NotFound, "Invalid URL (GET /nope)")]
    [InlineData("POST", "v2/chat/completions", HttpStatusCode.NotFound, "Invalid URL (POST /v2/chat/completions)")]
    [InlineData("PUT", "admin/keys", HttpStatusCode.MethodNotAllowed, "Method PUT is not allowed on /admin/keys.")]
    [InlineData("GET", "admin/usage?days=abc", HttpStatusCode.BadRequest, "The request to /admin/usage could not be understood")]
    [InlineData("PUT", "healthz", HttpStatusCode.MethodNotAllowed, "Method PUT is not allowed on /healthz.")]
    [InlineData("DELETE", "metrics", HttpStatusCode.MethodNotAllowed, "Method DELETE is not allowed on /metrics.")]
    public async Task NoHandlerForTheRequest_StillAnswersOpenAIShaped(string method, string path, HttpStatusCode status, string message)
    {
        await using var relay = await RelayFixture.StartAsync();
        using var admin = relay.Gateway.AdminClient();

        using var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith(message, (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HugeAdminBody_Is413_NotReadWhole()
    {
        await using var relay = await RelayFixture.StartAsync();
        using var admin = relay.Gateway.AdminClient();

        using var response = await admin.PostAsync("admin/keys",
            new StringContent($$"""{"name":"{{new string('a', 200_000)}}"}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await RelayFixture.ErrorOf(response);
    }

    /// <summary>An operator moves a key that ran out on its plan to a bigger one: the next call goes through (counted
    /// under the new plan), and moving it back does not hand it a fresh quota.</summary>
    [Fact]
    public async Task PatchPlan_MovesTheKeyAtOnce_ItsOldCountsStayWithTheOldPlan()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?>(RelayFixture.FreePlan(1))
        {
            ["Sluice:Plans:pro:Limits:0:Scope"] = "KeyAndIp",
            ["Sluice:Plans:pro:Limits:0:Requests"] = "3",
        });
        var (id, key) = await relay.Gateway.CreateKeyAsync("carol");
        using var client = relay.Gateway.ClientFrom(2, key);
        using var admin = relay.Gateway.AdminClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("v1/chat/completions", RelayFixture.Chat())).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsync("v1/chat/completions", RelayFixture.Chat())).StatusCode);

        using var moved = await admin.PatchAsJsonAsync($"admin/keys/{id}", new { plan = "pro" });

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        using (var json = JsonDocument.Parse(await moved.Content.ReadAsStringAsync()))
        {
            Assert.Equal("pro", json.RootElement.GetProperty("plan").GetString());
            Assert.Equal("carol", json.RootElement.GetProperty("name").GetString());
        }
        using (var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("3", ok.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.Equal("2", ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }
        using (var details = JsonDocument.Parse(await admin.GetStringAsync($"admin/keys/{id}")))
        {
            Assert.Equal("pro", details.RootElement.GetProperty("plan").GetString());
            Assert.Equal(1, details.RootElement.GetProperty("usage")[0].GetProperty("used").GetInt32());
        }

        using var back = await admin.PatchAsJsonAsync($"admin/keys/{id}", new { plan = "free", name = "carol b" });
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsync("v1/chat/completions", RelayFixture.Chat())).StatusCode);
        using var listed = JsonDocument.Parse(await admin.GetStringAsync("admin/keys"));
        Assert.Equal("carol b", listed.RootElement.GetProperty("data")[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("{\"plan\":\"gold\"}", HttpStatusCode.BadRequest, "There is no plan 'gold'")]
    [InlineData("{}", HttpStatusCode.BadRequest, "Nothing to change")]
    [InlineData("{\"name\":\"  \"}", HttpStatusCode.BadRequest, "'name' must be a label of 1 to 200 characters")]
    [InlineData("{\"plan\":", HttpStatusCode.BadRequest, "The body must be JSON")]
    public async Task PatchKey_BadChange_IsOpenAIShaped400_AndChangesNothing(string body, HttpStatusCode status, string message)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, _) = await relay.Gateway.CreateKeyAsync("dave");
        using var admin = relay.Gateway.AdminClient();

        using var response = await admin.PatchAsync($"admin/keys/{id}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith(message, (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
        using var details = JsonDocument.Parse(await admin.GetStringAsync($"admin/keys/{id}"));
        Assert.Equal("dave", details.RootElement.GetProperty("name").GetString());
        Assert.Equal("free", details.RootElement.GetProperty("plan").GetString());
    }

    [Fact]
    public async Task PatchKey_UnknownIs404_RevokedIs409()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, _) = await relay.Gateway.CreateKeyAsync();
        using var admin = relay.Gateway.AdminClient();
        (await admin.DeleteAsync($"admin/keys/{id}")).Dispose();

        using var unknown = await admin.PatchAsJsonAsync("admin/keys/key_nope", new { name = "x" });
        using var revoked = await admin.PatchAsJsonAsync($"admin/keys/{id}", new { name = "x" });

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, revoked.StatusCode);
        Assert.Equal("key_revoked", (await RelayFixture.ErrorOf(revoked)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task UnknownKey_Is404()
    {
        await using var relay = await RelayFixture.StartAsync();
        using var admin = relay.Gateway.AdminClient();
        using var show = await admin.GetAsync("admin/keys/key_nope");
        using var revoke = await admin.DeleteAsync("admin/keys/key_nope");
        Assert.Equal(HttpStatusCode.NotFound, show.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, revoke.StatusCode);
        await RelayFixture.ErrorOf(revoke);
    }

    [Fact]
    public void TokenFileWithByteOrderMark_IsReadWithoutIt_AndRewrittenPlain()
    {
        var path = Path.Combine(Path.GetTempPath(), "sluice-token-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, "sluice-admin-abc123\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            Assert.Equal("sluice-admin-abc123", Admin.AdminToken.ReadOrCreate(path, out var created));

            Assert.False(created);
            Assert.Equal("sluice-admin-abc123\n"u8.ToArray(), File.ReadAllBytes(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task GeneratedAdminToken_IsWrittenOwnerOnly_AndWorks()
    {
        await using var fake = await FakeUpstream.FakeUpstreamServer.StartAsync(new FakeUpstream.FakeUpstreamOptions());
        await using var gateway = await Testing.Gateway.GatewayHost.StartAsync(fake.BaseUrl, new Dictionary<string, string?> { ["Sluice:Admin:Token"] = "" });
        var path = Path.Combine(gateway.DataDir, "admin-token");

        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        // The token as a shell reads it (`Bearer $(cat data/admin-token)`): every byte of the file, no byte-order mark
        // skipped, only the final line break dropped.
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Matches("^sluice-admin-[0-9A-Za-z]+\n$", System.Text.Encoding.Latin1.GetString(bytes));
        using var client = gateway.ClientFrom(2, System.Text.Encoding.Latin1.GetString(bytes).TrimEnd('\n'));
        using var response = await client.GetAsync("admin/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Health_AnswersWithoutAuth()
    {
        await using var relay = await RelayFixture.StartAsync();
        using var client = relay.Gateway.ClientFrom(2);
        using var response = await client.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
