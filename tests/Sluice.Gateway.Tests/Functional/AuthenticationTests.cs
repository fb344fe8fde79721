using System.Net;
using System.Net.Http.Headers;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>Only known, unrevoked keys get through; everything else is OpenAI's 401 and never reaches the upstream.</summary>
public sealed class AuthenticationTests
{
    private static async Task<HttpResponseMessage> ChatWithAuthorization(RelayFixture relay, string? authorization)
    {
        using var client = relay.Gateway.ClientFrom(2);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        return await client.SendAsync(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer ")]
    [InlineData("Bearer sk-unknownunknownunknownunknownunknownunknownunknown")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task MissingOrUnknownKey_Is401InvalidApiKey_UpstreamNeverCalled(string? authorization)
    {
        await using var relay = await RelayFixture.StartAsync();

        using var response = await ChatWithAuthorization(relay, authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.StartsWith("Incorrect API key provided: ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, relay.Upstream.RequestCount);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer")]
    [InlineData("bearer   ")]
    public async Task NoKeyAtAll_SaysSo(string? authorization)
    {
        await using var relay = await RelayFixture.StartAsync();

        using var response = await ChatWithAuthorization(relay, authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("You didn't provide an API key", (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ErrorBody_IsPlainJsonText_AsOpenAIWritesIt()
    {
        await using var relay = await RelayFixture.StartAsync();

        using var response = await ChatWithAuthorization(relay, "Bearer sk-unknownunknownunknownunknownunknownunknownunknown");

        // "server's", not "server\u0027s": what a user sees when a client prints the raw body.
        Assert.Contains("Sluice server's operator", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>
    /// An error Sluice writes itself carries the call's id as OpenAI's errors do, in <c>x-request-id</c> (which
    /// OpenAI's libraries report as the error's request id), and in <c>x-sluice-request-id</c> like every answer.
    /// </summary>
    [Fact]
    public async Task ErrorWrittenBySluice_CarriesItsRequestId_AsOpenAIsErrorsDo()
    {
        await using var relay = await RelayFixture.StartAsync();

        using var first = await ChatWithAuthorization(relay, null);
        using var second = await ChatWithAuthorization(relay, null);

        var id = Assert.Single(first.Headers.GetValues("x-request-id"));
        Assert.StartsWith("req_", id, StringComparison.Ordinal);
        Assert.Equal(id, Assert.Single(first.Headers.GetValues("x-sluice-request-id")));
        Assert.NotEqual(id, Assert.Single(second.Headers.GetValues("x-request-id")));
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_Is401SayingSo_NotThatTheKeyIsWrong()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + key, "Bearer " + key]);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("more than one Authorization header", (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, relay.Upstream.RequestCount);
    }

    [Fact]
    public async Task BareKeyWithoutBearer_IsAccepted()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.TryAddWithoutValidation("Authorization", key);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RevokedKey_Is401AtOnce_AndNeverCounted()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using (var before = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        using var admin = relay.Gateway.AdminClient();
        using (var revoke = await admin.DeleteAsync($"admin/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var after = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("revoked", (await RelayFixture.ErrorOf(after)).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, relay.Upstream.RequestCount);
    }

    [Fact]
    public async Task UnknownKey_MessageShowsOnlyTheEndsOfTheKey()
    {
        await using var relay = await RelayFixture.StartAsync();
        using var client = relay.Gateway.ClientFrom(2);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-abcdSECRETSECRETSECRETwxyz");

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        var message = (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString()!;
        Assert.Contains("sk-abcd…wxyz", message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", message, StringComparison.Ordinal);
    }
}
