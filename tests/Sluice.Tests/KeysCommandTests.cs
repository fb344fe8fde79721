using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Sluice.FakeUpstream;

namespace Sluice.Tests;

/// <summary><c>sluice keys …</c> against a running gateway, with the admin token read from the data directory.</summary>
public sealed class KeysCommandTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "sluice-cli-" + Guid.NewGuid().ToString("N")[..10]);
    private FakeUpstreamServer? _upstream;
    private SluiceProcess? _sluice;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        _sluice = await SluiceProcess.ServeAsync("--data-dir", _dataDir, "--upstream", _upstream.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _sluice!.DisposeAsync();
        await _upstream!.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task CreateListShowRevoke_WorkEndToEnd()
    {
        Assert.Contains("admin-token", _sluice!.Output, StringComparison.Ordinal);
        string[] Common() => ["--server", _sluice.BaseUrl, "--data-dir", _dataDir];

        var created = await SluiceProcess.RunAsync(["keys", "create", "--name", "alice", .. Common()]);
        Assert.True(created.ExitCode == 0, created.Errors);
        var lines = created.Output.TrimEnd().Split('\n');
        var key = lines[^1].Trim();
        Assert.Matches("^sk-[0-9A-Za-z]{48}$", key);
        var id = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        Assert.StartsWith("key_", id, StringComparison.Ordinal);

        using (var client = new HttpClient { BaseAddress = new Uri(_sluice.BaseUrl + "/") })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var ok = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var list = await SluiceProcess.RunAsync(["keys", "list", .. Common()]);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("alice", list.Output, StringComparison.Ordinal);
        Assert.Contains(key[..7] + "…" + key[^4..], list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Output, StringComparison.Ordinal);

        var show = await SluiceProcess.RunAsync(["keys", "show", id, .. Common()]);
        Assert.Equal(0, show.ExitCode);
        Assert.Matches(@"key\s+1/150\s+149\s+1d", show.Output);

        var renamed = await SluiceProcess.RunAsync(["keys", "update", id, "--name", "alice smith", .. Common()]);
        Assert.True(renamed.ExitCode == 0, renamed.Errors);
        Assert.Contains("alice smith", renamed.Output, StringComparison.Ordinal);
        var nothing = await SluiceProcess.RunAsync(["keys", "update", id, .. Common()]);
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("Nothing to change", nothing.Errors, StringComparison.Ordinal);
        var badPlan = await SluiceProcess.RunAsync(["keys", "update", id, "--plan", "gold", .. Common()]);
        Assert.Equal(1, badPlan.ExitCode);
        Assert.Contains("There is no plan 'gold'", badPlan.Errors, StringComparison.Ordinal);

        var revoke = await SluiceProcess.RunAsync(["keys", "revoke", id, .. Common()]);
        Assert.Equal(0, revoke.ExitCode);
        Assert.Contains("revoked", revoke.Output, StringComparison.Ordinal);
        using (var client = new HttpClient { BaseAddress = new Uri(_sluice.BaseUrl + "/") })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var denied = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        }
    }

    [Fact]
    public async Task Usage_ShowsCallsPerDayKeyAndModel_AndCreditTopsUp()
    {
        var sluice = _sluice!;
        string[] Common() => ["--server", sluice.BaseUrl, "--data-dir", _dataDir];
        var created = await SluiceProcess.RunAsync(["keys", "create", "--name", "bob", .. Common()]);
        var lines = created.Output.TrimEnd().Split('\n');
        var key = lines[^1].Trim();
        var id = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        using (var client = new HttpClient { BaseAddress = new Uri(sluice.BaseUrl + "/") })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            for (var i = 0; i < 2; i++)
            {
                using var ok = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }
            // A model name a client made up, with a terminal escape (clear screen) and a right-to-left override.
            using var odd = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-x\u001b[2J\u202e", messages = new[] { new { role = "user", content = "hi" } } });
        }

        var usage = (0, "", "");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            usage = await SluiceProcess.RunAsync(["usage", "--key", id, "--days", "1", .. Common()]);
            Assert.True(usage.Item1 == 0, usage.Item3);
        }
        while (!(usage.Item2.Contains("gpt-4o-mini", StringComparison.Ordinal) && usage.Item2.Contains("gpt-4o-x", StringComparison.Ordinal)) && DateTime.UtcNow < deadline);

        Assert.Matches(@$"{id}\s+gpt-4o-mini\s+2\s+", usage.Item2);
        Assert.Matches(@"TOTAL\s+3\s+", usage.Item2);
        // Printed escaped: nothing a client sent can clear or recolour the operator's terminal.
        Assert.Contains(@"gpt-4o-x\u001b[2J\u202e", usage.Item2, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', usage.Item2);
        Assert.DoesNotContain('\u202e', usage.Item2);

        var credit = await SluiceProcess.RunAsync(["keys", "credit", id, "--amount", "2.5", .. Common()]);
        Assert.True(credit.ExitCode == 0, credit.Errors);
        Assert.Contains("$2.50", credit.Output, StringComparison.Ordinal);
        // bob is on the free plan: the credit is kept, and the command says it is not drawn on there.
        Assert.Contains("plan 'free' is not prepaid (free)", credit.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongToken_ExitsNonZero_WithTheServersMessage()
    {
        var result = await SluiceProcess.RunAsync("keys", "list", "--server", _sluice!.BaseUrl, "--admin-token", "wrong");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("401", result.Errors, StringComparison.Ordinal);
        Assert.Contains("admin token", result.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownKeyId_ExitsNonZero()
    {
        var result = await SluiceProcess.RunAsync("keys", "show", "key_missing", "--server", _sluice!.BaseUrl, "--data-dir", _dataDir);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("404", result.Errors, StringComparison.Ordinal);
    }
}
