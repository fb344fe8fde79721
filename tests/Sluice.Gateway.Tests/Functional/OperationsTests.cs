using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Sluice.Core.Keys;
using Sluice.FakeUpstream;
using Sluice.Gateway.Hosting;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>What an operator relies on: the request log, start-up validation, keys changed elsewhere.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task AccessLog_OneLinePerRequest_WithKeyIdIpModelStatusLatency_NeverTheKey()
    {
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl);
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(7, key);

        string requestId, deniedId;
        using (var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat("gpt-4o-mini")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            requestId = ok.Headers.GetValues("x-sluice-request-id").Single();
        }
        using var anonymous = gateway.ClientFrom(7);
        using (var denied = await anonymous.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            deniedId = denied.Headers.GetValues("x-sluice-request-id").Single();
        }
        using (var forged = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions"))
        {
            forged.Headers.Authorization = new("Bearer", key);
            forged.Content = new StringContent("{\"model\":\"evil\\nfake line status=200\\u2028\\u0085\\u202e\",\"messages\":[]}", System.Text.Encoding.UTF8, "application/json");
            using var refused = await client.SendAsync(forged);
        }
        await gateway.StopAsync();

        var lines = gateway.AccessLogLines().Where(l => l.Contains("path=/v1/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Matches($"^\\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+Z method=POST path=/v1/chat/completions status=200 latency_ms=[0-9.]+ key={id} ip=127.0.0.7 model=gpt-4o-mini id={requestId}$", lines[0]);
        Assert.Matches($"status=401 latency_ms=[0-9.]+ key=- ip=127.0.0.7 model=- id={deniedId}$", lines[1]);
        Assert.NotEqual(requestId, deniedId);
        // A model name with a line break cannot forge a line: it is quoted and escaped.
        // So can no line or paragraph separator, C1 control or right-to-left override: each is written as \uXXXX.
        Assert.Contains("model=\"evil\\nfake line status=200\\u2028\\u0085\\u202e\"", lines[2], StringComparison.Ordinal);
        var all = string.Join("\n", gateway.AccessLogLines());
        Assert.DoesNotContain(key, all, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-secret", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadConfiguration_StopsStartListingEveryProblem()
    {
        var messages = await StartFailuresAsync(
            "--Sluice:Upstream:BaseUrl=not a url",
            "--Sluice:ClientIp:TrustedProxies:0=300.1.1.1",
            "--Sluice:ClientIp:Allow:0=10.0.0.0/8",
            "--Sluice:ClientIp:Allow:1=10.0.0.0/99",
            "--Sluice:ClientIp:Deny:0=bad-host",
            "--Sluice:Plans:free:Limits:0:Requests=-5",
            "--Sluice:Plans:free:Limits:0:Window=00:00:00");

        Assert.Contains(messages, m => m.Contains("Sluice:Upstream:BaseUrl", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("TrustedProxies:0", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Sluice:ClientIp:Allow:1: '10.0.0.0/99'", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("Allow:0", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Sluice:ClientIp:Deny:0: 'bad-host'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Limits:0:Requests", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Limits:0:Window", StringComparison.Ordinal));
    }

    /// <summary>
    /// A key added to the store by another instance is honoured at this instance's next poll, every half second
    /// (so within one second). Time is a fake clock: before the poll the key is unknown, one 500 ms tick later it works,
    /// however slow the machine is.
    /// </summary>
    [Fact]
    public async Task KeyAddedToTheStoreElsewhere_IsHonouredAtTheNextHalfSecondPoll()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, services: s => s.AddSingleton<TimeProvider>(time));
        var made = NewApiKey.Create("from-elsewhere", "free", time.GetUtcNow());
        await gateway.Services.GetRequiredService<IKeyStore>().AddAsync(made.Key, CancellationToken.None);
        using var client = gateway.ClientFrom(2, made.Secret);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client));
        time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(HttpStatusCode.OK, await StatusOncePolledAsync(client));
    }

    /// <summary>
    /// Another instance adds a key; before this instance polls, its own admin API creates a newer one (applied at
    /// once). The poll still picks up the older one: it reads from its own position, not the directory's version.
    /// </summary>
    [Fact]
    public async Task KeyAddedElsewhere_ThenOneCreatedHere_BothWorkAfterTheNextPoll()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, services: s => s.AddSingleton<TimeProvider>(time));
        var elsewhere = NewApiKey.Create("elsewhere", "free", time.GetUtcNow());
        await gateway.Services.GetRequiredService<IKeyStore>().AddAsync(elsewhere.Key, CancellationToken.None);
        var (_, here) = await gateway.CreateKeyAsync("here");
        using var fromElsewhere = gateway.ClientFrom(2, elsewhere.Secret);
        using var fromHere = gateway.ClientFrom(2, here);

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(fromHere));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(fromElsewhere));
        time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(HttpStatusCode.OK, await StatusOncePolledAsync(fromElsewhere));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(fromHere));
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        return response.StatusCode;
    }

    /// <summary>The status once the poll that the clock just started has run: it runs on the thread pool, so this
    /// waits for it (at most 10 s, a bound on a stalled machine, not a speed requirement).</summary>
    private static async Task<HttpStatusCode> StatusOncePolledAsync(HttpClient client)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = await StatusAsync(client);
            if (status != HttpStatusCode.Unauthorized || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return status;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Starts the gateway in-process with <paramref name="settings"/> (on a fresh data directory and a free
    /// port), which must stop the start; returns every message of the failure.</summary>
    internal static async Task<List<string>> StartFailuresAsync(params string[] settings)
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Sluice:DataDir=" + Path.Combine(Path.GetTempPath(), "sluice-bad-" + Guid.NewGuid().ToString("N")),
            .. settings,
        ];
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = SluiceApplication.Create(args);
            await app.StartAsync();
        });
        return Failures(failure);
    }

    /// <summary>Every message of a failed start (options validation lists each problem).</summary>
    private static List<string> Failures(Exception exception) => exception switch
    {
        OptionsValidationException validation => [.. validation.Failures],
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Failures).ToList(),
        _ => [exception.Message],
    };
}
