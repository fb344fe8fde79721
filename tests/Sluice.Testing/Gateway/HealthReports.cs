using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Sluice.Testing.Gateway;

/// <summary>A gateway's <c>GET /healthz</c> as a test reads it: its status code and its JSON (overall status, then each
/// component's).</summary>
public static class HealthReports
{
    public static async Task<(HttpStatusCode Status, JsonElement Report)> ReadAsync(HttpClient client)
    {
        using var response = await client.GetAsync("healthz");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>The answer once each of <paramref name="components"/> is <paramref name="wanted"/> (polled: a component's
    /// state changes in the background), or the last one seen after 20 s.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Report)> WhenAsync(HttpClient client, string wanted, params string[] components)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var answer = await ReadAsync(client);
            var all = components.All(name => answer.Report.GetProperty("components").GetProperty(name).GetProperty("status").GetString() == wanted);
            if (all || clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                return answer;
            }
            await Task.Delay(50);
        }
    }
}
