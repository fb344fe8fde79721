using System.CommandLine;
using Sluice.Gateway.Admin;

namespace Sluice.Commands;

/// <summary><c>sluice usage [--key ID] [--days N]</c>: requests, tokens and cost per day, key and model.</summary>
internal static class UsageCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The gateway's URL.", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var token = new Option<string?>("--admin-token") { Description = "The admin token (default: read from <data-dir>/admin-token)." };
        var dataDir = new Option<string>("--data-dir") { Description = "Where to find the admin token file.", DefaultValueFactory = _ => "./data" };
        var key = new Option<string?>("--key") { Description = "Only this key (key_…)." };
        var days = new Option<int>("--days") { Description = "How many days back, today included.", DefaultValueFactory = _ => 7 };
        var command = new Command("usage", "Show usage per day, key and model (UTC days).") { server, token, dataDir, key, days };
        command.SetAction((result, cancellationToken) => KeysCommand.Run(result, server, token, dataDir, async client =>
        {
            var query = $"/admin/usage?days={result.GetValue(days)}" + (result.GetValue(key) is { } id ? "&key=" + Uri.EscapeDataString(id) : "");
            var report = await client.SendAsync(HttpMethod.Get, query, null, AdminJsonContext.Default.UsageReport, cancellationToken);
            var rows = report.Data.Select(r => new[]
            {
                r.Day, r.KeyId, r.Model.Length == 0 ? "-" : r.Model, Table.Integer(r.Requests), Table.Integer(r.Failed), Table.Integer(r.PromptTokens), Table.Integer(r.CachedTokens),
                Table.Integer(r.CompletionTokens), Table.Usd(r.CostUsd),
            }).ToList();
            var totals = report.Totals;
            rows.Add(["TOTAL", "", "", Table.Integer(totals.Requests), Table.Integer(totals.Failed), Table.Integer(totals.PromptTokens), Table.Integer(totals.CachedTokens), Table.Integer(totals.CompletionTokens), Table.Usd(totals.CostUsd)]);
            Table.Write(Console.Out, ["DAY", "KEY", "MODEL", "REQUESTS", "FAILED", "PROMPT", "CACHED", "COMPLETION", "COST"], rows);
            return 0;
        }));
        return command;
    }
}
